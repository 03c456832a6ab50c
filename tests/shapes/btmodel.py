"""BridgeTower in PyTorch, written from HF transformers' semantics.

The module tree mirrors HF's BridgeTower classes, so state_dict() names are
HF's (`bridgetower.text_model...`, `itm_score.fc`, `itc_text_head.fc`, ...)
and the saved folder loads in HF and in libbridgetower unchanged. One class
carries the ITM and the ITC heads, as a checkpoint saved from several HF head
classes does. Only what the forward pass uses is built (no text pooler, no
ln_separate), so nothing untrained is shipped.
"""
import math

import torch
from torch import nn
import torch.nn.functional as F


class SelfAttn(nn.Module):          # BertSelfAttention: query / key / value
    def __init__(self, h, heads):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)

    def forward(self, x, mask, ctx=None):
        ctx = x if ctx is None else ctx
        b, n, h = x.shape
        m = ctx.shape[1]
        d = h // self.heads
        q = self.query(x).view(b, n, self.heads, d).transpose(1, 2)
        k = self.key(ctx).view(b, m, self.heads, d).transpose(1, 2)
        v = self.value(ctx).view(b, m, self.heads, d).transpose(1, 2)
        s = q @ k.transpose(-1, -2) / math.sqrt(d)
        if mask is not None:
            s = s + mask
        return (s.softmax(-1) @ v).transpose(1, 2).reshape(b, n, h)


class AddNorm(nn.Module):           # BertSelfOutput / BertOutput: dense + LayerNorm
    def __init__(self, din, h, eps):
        super().__init__()
        self.dense = nn.Linear(din, h)
        self.LayerNorm = nn.LayerNorm(h, eps=eps)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class Attention(nn.Module):
    def __init__(self, h, heads, eps):
        super().__init__()
        self.self = SelfAttn(h, heads)
        self.output = AddNorm(h, h, eps)

    def forward(self, x, mask, ctx=None):
        return self.output(self.self(x, mask, ctx), x)


class Dense(nn.Module):
    def __init__(self, din, dout):
        super().__init__()
        self.dense = nn.Linear(din, dout)


class BertLayer(nn.Module):
    """RoBERTa's post-LN layer; with cross=True BridgeTower's cross layer."""

    def __init__(self, tc, cross=False):
        super().__init__()
        h, eps = tc["hidden_size"], tc["layer_norm_eps"]
        self.attention = Attention(h, tc["num_attention_heads"], eps)
        if cross:
            self.crossattention = Attention(h, tc["num_attention_heads"], eps)
        self.intermediate = Dense(h, tc["intermediate_size"])
        self.output = AddNorm(tc["intermediate_size"], h, eps)

    def forward(self, x, mask, other=None, other_mask=None, first_only=False):
        # first_only: the output's first row alone (all the poolers read),
        # attending over every row as usual
        x = self.attention(x[:, :1] if first_only else x, mask, x)
        if other is not None:
            x = self.crossattention(x, other_mask, other)
        return self.output(F.gelu(self.intermediate.dense(x)), x)


class TextEmbeddings(nn.Module):
    def __init__(self, tc):
        super().__init__()
        h = tc["hidden_size"]
        self.pad = tc["pad_token_id"]
        self.word_embeddings = nn.Embedding(tc["vocab_size"], h)
        self.position_embeddings = nn.Embedding(tc["max_position_embeddings"], h)
        self.token_type_embeddings = nn.Embedding(tc["type_vocab_size"], h)
        self.LayerNorm = nn.LayerNorm(h, eps=tc["layer_norm_eps"])

    def forward(self, ids):
        m = (ids != self.pad).long()
        pos = torch.cumsum(m, 1) * m + self.pad
        x = (self.word_embeddings(ids) + self.position_embeddings(pos)
             + self.token_type_embeddings.weight[0])
        return self.LayerNorm(x)


class Encoder(nn.Module):
    def __init__(self, tc):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(tc) for _ in range(tc["num_hidden_layers"]))


class TextModel(nn.Module):
    def __init__(self, tc):
        super().__init__()
        self.embeddings = TextEmbeddings(tc)
        self.encoder = Encoder(tc)


class MLP(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.c_fc = nn.Linear(h, 4 * h)
        self.c_proj = nn.Linear(4 * h, h)

    def forward(self, x):
        x = self.c_fc(x)
        return self.c_proj(x * torch.sigmoid(1.702 * x))


class Block(nn.Module):             # CLIP's residual attention block, pre-LN
    def __init__(self, h, eps):
        super().__init__()
        self.attn = nn.MultiheadAttention(h, h // 64)
        self.ln_1 = nn.LayerNorm(h, eps=eps)
        self.mlp = MLP(h)
        self.ln_2 = nn.LayerNorm(h, eps=eps)

    def forward(self, x):           # x: (L, N, E) as nn.MultiheadAttention wants
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class VisionEmbeddings(nn.Module):
    def __init__(self, vc):
        super().__init__()
        h, p = vc["hidden_size"], vc["patch_size"]
        n = (vc["image_size"] // p) ** 2 + 1
        self.class_embedding = nn.Parameter(torch.randn(h) * h ** -0.5)
        self.patch_embedding = nn.Conv2d(vc["num_channels"], h, p, p, bias=False)
        self.position_embedding = nn.Embedding(n, h)

    def forward(self, pix):
        x = self.patch_embedding(pix).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        return torch.cat([cls, x], 1) + self.position_embedding.weight


class Transformer(nn.Module):
    def __init__(self, vc):
        super().__init__()
        self.resblocks = nn.ModuleList(
            Block(vc["hidden_size"], vc["layer_norm_eps"])
            for _ in range(vc["num_hidden_layers"] - int(vc.get("remove_last_layer", False))))


class Visual(nn.Module):
    def __init__(self, vc):
        super().__init__()
        h, eps = vc["hidden_size"], vc["layer_norm_eps"]
        self.embeddings = VisionEmbeddings(vc)
        self.ln_pre = nn.LayerNorm(h, eps=eps)
        self.transformer = Transformer(vc)
        self.ln_post = nn.LayerNorm(h, eps=eps)


class VisionModel(nn.Module):
    def __init__(self, vc):
        super().__init__()
        self.visual = Visual(vc)


class LinkTower(nn.Module):
    def __init__(self, kind, h, eps):
        super().__init__()
        self.kind = kind
        if kind == "scaled_add":
            self.scaled_factor = nn.Parameter(torch.tensor(1.0))
        elif kind == "interpolate":
            self.beta = nn.Parameter(torch.tensor(0.5))
        self.LayerNorm = nn.LayerNorm(h, eps=eps)

    def forward(self, x, y):
        if self.kind == "add":
            return self.LayerNorm(x + y)
        if self.kind == "scaled_add":
            return self.LayerNorm(x * self.scaled_factor + y)
        return self.LayerNorm(x * (1 - self.beta) + y * self.beta)


class BridgeTower(nn.Module):       # HF's BridgeTowerModel, poolers included
    def __init__(self, cfg):
        super().__init__()
        tc, vc = cfg["text_config"], cfg["vision_config"]
        h, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
        c = cfg["num_hidden_layers"]
        self.n_text = tc["num_hidden_layers"]
        self.n_cross = c
        self.text_model = TextModel(tc)
        self.vision_model = VisionModel(vc)
        self.cross_modal_text_transform = nn.Linear(tc["hidden_size"], h)
        self.cross_modal_image_transform = nn.Linear(vc["hidden_size"], h)
        self.token_type_embeddings = nn.Embedding(2, h)
        ctc = dict(tc, hidden_size=h)
        self.cross_modal_image_layers = nn.ModuleList(BertLayer(ctc, True) for _ in range(c))
        self.cross_modal_text_layers = nn.ModuleList(BertLayer(ctc, True) for _ in range(c))
        self.cross_modal_image_pooler = Dense(h, h)
        self.cross_modal_text_pooler = Dense(h, h)
        self.cross_modal_text_layernorm = nn.LayerNorm(h, eps=eps)
        self.cross_modal_image_layernorm = nn.LayerNorm(h, eps=eps)
        kind = cfg["link_tower_type"]
        self.cross_modal_text_link_tower = nn.ModuleList(LinkTower(kind, h, eps) for _ in range(c - 1))
        self.cross_modal_image_link_tower = nn.ModuleList(LinkTower(kind, h, eps) for _ in range(c - 1))

    def vision_post(self, v):       # (L, N, E) block output -> transformed, typed
        v = self.vision_model.visual.ln_post(v.transpose(0, 1))
        return self.cross_modal_image_transform(v) + self.token_type_embeddings.weight[1]

    def text_post(self, t):
        return self.cross_modal_text_transform(t) + self.token_type_embeddings.weight[0]

    def towers(self, ids, mask, pix):
        """The unimodal part: per layer index the text and vision outputs."""
        tmask = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        t = self.text_model.embeddings(ids)
        visual = self.vision_model.visual
        v = visual.ln_pre(visual.embeddings(pix)).transpose(0, 1)
        texts, images = [], []
        for i in range(self.n_text):
            t = self.text_model.encoder.layer[i](t, tmask)
            v = visual.transformer.resblocks[i](v)
            texts.append(t)
            images.append(v)
        return tmask, texts, images

    def cross(self, tmask, texts, images, pooled_only=False):
        """The bridge cross-modal encoder on aligned (text, image) rows; with
        pooled_only the last layer computes only the rows the poolers read
        (same pooled output, less work: training)."""
        split = self.n_text - self.n_cross
        ct = self.cross_modal_text_layernorm(self.text_post(texts[split]))
        ci = self.cross_modal_image_layernorm(self.vision_post(images[split]))
        for k in range(self.n_cross):
            if k > 0:
                ct = self.cross_modal_text_link_tower[k - 1](self.text_post(texts[split + k]), ct)
                ci = self.cross_modal_image_link_tower[k - 1](self.vision_post(images[split + k]), ci)
            first = pooled_only and k == self.n_cross - 1
            ct, ci = (self.cross_modal_text_layers[k](ct, tmask, ci, None, first),
                      self.cross_modal_image_layers[k](ci, None, ct, tmask, first))
        tp = torch.tanh(self.cross_modal_text_pooler.dense(ct[:, 0]))
        ip = torch.tanh(self.cross_modal_image_pooler.dense(ci[:, 0]))
        return ct, ci, torch.cat([tp, ip], -1)


class Head(nn.Module):
    def __init__(self, din, dout):
        super().__init__()
        self.fc = nn.Linear(din, dout)

    def forward(self, x):
        return self.fc(x)


class BridgeTowerItmItc(nn.Module):
    """BridgeTowerForImageAndTextRetrieval + ForContrastiveLearning heads."""

    def __init__(self, cfg):
        super().__init__()
        h, d = cfg["hidden_size"], cfg.get("contrastive_hidden_size", 512)
        self.bridgetower = BridgeTower(cfg)
        self.itm_score = Head(2 * h, 2)
        self.itc_text_head = Head(h, d)
        self.itc_image_head = Head(h, d)
        self.itc_cross_modal_head = Head(2 * h, d)
        self.logit_scale = nn.Parameter(torch.tensor(cfg.get("logit_scale_init_value", 2.6592)))

    def itc_text(self, texts):
        return F.normalize(self.itc_text_head(texts[-1][:, 0]), dim=-1)

    def itc_image(self, images):
        return F.normalize(self.itc_image_head(self.bridgetower.vision_post(images[-1])[:, 0]), dim=-1)

    def itc_cross(self, pooled):
        return F.normalize(self.itc_cross_modal_head(pooled), dim=-1)
