/* bridgetower.h - libbridgetower, BridgeTower in C: the public API.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-common.h"
#include "bt-config.h"
#include "bt-safetensors.h"
#include "bt-tokenizer.h"
#include "bt-image.h"
#include "bt-model.h"
#include "bt-timeline.h"
