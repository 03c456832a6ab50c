#!/usr/bin/env python3
"""`bridgetower preprocess` (the binary in $BRIDGETOWER) against the golden
set: every image-processor case and the processor inputs of the model cases,
compared with the golden tensors; plus --help and failures. Standard library
only."""
import array
import json
import os
import struct
import subprocess
import sys
import tempfile

TOLERANCE = 1e-6
BIN = os.environ['BRIDGETOWER']
GOLDEN = os.path.join(os.environ['BT_TEST_DATA'], 'golden')
failures = []
max_error = 0.0


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        begin, end = info['data_offsets']
        code = {'F32': 'f', 'I64': 'q', 'U8': 'B'}[info['dtype']]
        values = array.array(code)
        values.frombytes(body[begin:end])
        tensors[name] = (info['dtype'], info['shape'], values)
    return tensors


def run(args):
    return subprocess.run([BIN, 'preprocess'] + args, capture_output=True, text=True)


def preprocess(directory, images, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'out.safetensors')
        r = run([directory] + list(extra) + images + ['-o', out])
        if r.returncode != 0:
            raise RuntimeError('exit %d: %s' % (r.returncode, r.stderr))
        return read_safetensors(out)


def compare(label, got, want_values, want_shape, dtype):
    global max_error
    g_dtype, g_shape, g_values = got
    if g_dtype != dtype or g_shape != want_shape:
        failures.append('%s: got %s %s, expected %s %s' % (label, g_dtype, g_shape, dtype, want_shape))
        return
    if dtype == 'I64':
        if g_values != want_values:
            failures.append('%s: pixel_mask differs' % label)
        return
    err = max((abs(a - b) for a, b in zip(g_values, want_values)), default=0.0)
    max_error = max(max_error, err)
    if err > TOLERANCE:
        failures.append('%s: max |error| %g' % (label, err))


def ones(shape):
    n = 1
    for d in shape:
        n *= d
    return array.array('q', [1] * n)


def image_path(name):
    return os.path.join(GOLDEN, 'inputs', 'images', name + '.png')


manifest = json.load(open(os.path.join(GOLDEN, 'manifest.json')))
n_checked = 0

for cfg in manifest['image_processor']['configs']:
    directory = os.path.join(GOLDEN, cfg['dir'])
    expected = read_safetensors(os.path.join(GOLDEN, cfg['tensors_file']))
    for case in cfg['cases']:
        name = case['name']
        if name.endswith('.white_composite'):
            continue  # another RGBA convention: checked through the API only
        label = '%s/%s' % (cfg['name'], name)
        keys = case['keys']
        got = preprocess(directory, [image_path(n) for n in case['batch']])
        if 'pixel_values' in keys:
            _, shape, values = expected[keys['pixel_values']]
            compare(label, got['pixel_values'], values, shape, 'F32')
            if 'pixel_mask' in keys:
                _, mshape, mvalues = expected[keys['pixel_mask']]
            else:
                mshape = [shape[0]] + shape[2:]
                mvalues = ones(mshape)
            compare(label + ' mask', got['pixel_mask'], mvalues, mshape, 'I64')
        else:
            # not stored: the batch is the single results stacked
            values = array.array('f')
            for n in case['batch']:
                values.extend(expected[n + '.pixel_values'][2])
            shape = case['output_shape']
            compare(label, got['pixel_values'], values, shape, 'F32')
            compare(label + ' mask', got['pixel_mask'], ones([shape[0]] + shape[2:]),
                    [shape[0]] + shape[2:], 'I64')
        n_checked += 1

# The model folders' configs have center crop and normalisation on, which is
# what BridgeTowerProcessor forces; the interp_* cases turn the crop off.
for case in manifest['cases']:
    call = case['processor_call']
    extra = []
    if not call.startswith('BridgeTowerProcessor('):
        if "'size_divisor'" in call:
            continue  # an override the command does not offer
        extra = ['--no-center-crop']
    label = '%s/%s' % (case['model'], case['case'])
    expected = read_safetensors(os.path.join(GOLDEN, case['tensors_file']))
    got = preprocess(os.path.join(GOLDEN, 'models', case['model']),
                     [os.path.join(GOLDEN, p) for p in case['images']], extra)
    for key, dtype in (('pixel_values', 'F32'), ('pixel_mask', 'I64')):
        _, shape, values = expected[case['input_keys'][key]]
        compare(label + ' ' + key, got[key], values, shape, dtype)
    n_checked += 1

# the command's own behaviour
r = run(['--help'])
if r.returncode != 0 or 'usage: bridgetower preprocess' not in r.stdout:
    failures.append('--help: exit %d' % r.returncode)
default_dir = os.path.join(GOLDEN, 'image_processor', 'default')
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, 'out.safetensors')
    missing = os.path.join(tmp, 'missing.png')
    for args, what in (([default_dir, image_path('noise_7x5')], 'no -o'),
                       ([default_dir, '-o', out], 'no image'),
                       ([default_dir, missing, '-o', out], 'missing image'),
                       ([os.path.join(tmp, 'nodir'), image_path('noise_7x5'), '-o', out],
                        'missing config'),
                       ([default_dir, '--bogus', image_path('noise_7x5'), '-o', out],
                        'unknown option')):
        r = run(args)
        if r.returncode == 0 or not r.stderr.strip():
            failures.append('%s: exit %d, stderr %r' % (what, r.returncode, r.stderr))
    r = run([default_dir, missing, '-o', out])
    if missing not in r.stderr or os.path.exists(out):
        failures.append('a missing image is not named, or an output was written')

print('checked %d cases through the command; pixel_values max |error| %g'
      % (n_checked, max_error))
for f in failures:
    print('FAIL', f)
sys.exit(1 if failures or n_checked == 0 else 0)
