#!/usr/bin/env python3
"""PyTorch reference for `./build.sh bench distill`: one Affinity-KD step, ENet student <- DeepLabV3+ teacher.

Run with Debian's interpreter (/usr/bin/python3, python3-torch 1.13). The networks below mirror the C# ones
(src/MedDistill.Models/Networks/ENet.cs, DeepLabV3Plus.cs, Xception.cs) layer for layer, with the same parameter
names in the same order, and the losses are the shared loss specification of the C# losses (Affinity-KD eq. 8; the
formulas are spelled out in the functions below). docs/readme-pybench.md has the figures. Prints
`pytorch-step-ms=<median>` as its last line.

The contract the C# twin follows, so that the same seed gives the same weights, inputs and first losses:
  1. torch.manual_seed(seed); then set the thread count (--threads > 0).
  2. Build, in this order, each with PyTorch's default initialisation and nothing else drawn in between:
       teacher = DeepLabV3+ (Xception-65, OS 8), ModelOptions(InChannels=1, Classes=2, Width=1.0)
       student = ENet, same options
       adapter = Conv2d(128 -> 2048, kernel 1, bias=True)   (student "encoder" channels -> teacher "encoder" channels)
     Every module draws its weights when it is constructed, in the order the C# constructors build them; the
     classes below construct their children in exactly that order.
  3. Move the three to the device; teacher.eval() with requires_grad off, student.train(), adapter.train().
  4. x = randn(8, 1, 128, 128) and then y = randint(0, 2, (8, 128, 128)) (int64), both on the device.
  5. Adam(lr=0.01, betas (0.9, 0.999), eps 1e-8, no weight decay) over student.parameters() then adapter.parameters().
  6. Each step: zero_grad (set to none); teacher forward under no_grad; student forward (its Dropout2d layers draw
     from the generator in forward order); loss = Seg + 0.2*LM + 0.9*KMM + 0.9*AAM; backward; Adam step.
The first warm-up step's terms are printed as `first-terms=...` and the first three totals as `first-losses=...`.
"""
import argparse
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

IN_CHANNELS = 1
CLASSES = 2
BATCH, SIZE = 8, 128

# Affinity-KD eq. 8 and the segmentation loss, as in LOSS-SPEC.md.
W_DICE, W_FOCAL = 0.5, 0.5
DICE_SMOOTH = 1e-5
FOCAL_GAMMA = 2.0
LAMBDA_LM, LAMBDA_KMM, LAMBDA_AAM = 0.2, 0.9, 0.9
LM_TEMPERATURE = 1.0
AAM_KERNEL, AAM_DILATIONS, AAM_MARGIN = 3, (1,), 3.0
KMM_NORM_EPS = 1e-12
LR = 0.01


# ---- ENet (mirrors ENet.cs: InitialBlock, Bottleneck, UpsamplingBottleneck) --------------------------------------

class InitialBlock(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels - in_channels, 3, stride=2, padding=1, bias=False)
        self.maxpool = nn.MaxPool2d(2, stride=2)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.PReLU()

    def forward(self, x):
        return self.act(self.bn(torch.cat([self.conv(x), self.maxpool(x)], 1)))


class Bottleneck(nn.Module):
    def __init__(self, in_channels, mid, out_channels, dilation=1, asymmetric=False, downsampling=False):
        super().__init__()
        self.downsampling = downsampling
        if downsampling:
            self.maxpool = nn.MaxPool2d(2, stride=2, return_indices=True)
            self.conv_down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
        self.conv1 = nn.Sequential(nn.Conv2d(in_channels, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.PReLU())
        if downsampling:
            self.conv2 = nn.Sequential(nn.Conv2d(mid, mid, 2, stride=2, bias=False), nn.BatchNorm2d(mid), nn.PReLU())
        elif asymmetric:
            self.conv2 = nn.Sequential(
                nn.Conv2d(mid, mid, (5, 1), padding=(2, 0), bias=False),
                nn.Conv2d(mid, mid, (1, 5), padding=(0, 2), bias=False),
                nn.BatchNorm2d(mid), nn.PReLU())
        else:
            self.conv2 = nn.Sequential(
                nn.Conv2d(mid, mid, 3, padding=dilation, dilation=dilation, bias=False), nn.BatchNorm2d(mid), nn.PReLU())
        self.conv3 = nn.Sequential(nn.Conv2d(mid, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.Dropout2d(0.1))
        self.act = nn.PReLU()

    def extension(self, x):
        return self.conv3(self.conv2(self.conv1(x)))

    def forward(self, x):
        """Regular block: act(extension + x). A down-sampling block returns (output, pooling indices)."""
        if self.downsampling:
            pooled, indices = self.maxpool(x)
            main = self.conv_down(pooled)
            return self.act(self.extension(x) + main), indices
        return self.act(self.extension(x) + x)


class UpsamplingBottleneck(nn.Module):
    def __init__(self, in_channels, mid, out_channels):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
        self.upsampling = nn.MaxUnpool2d(2)
        self.block = nn.Sequential(
            nn.Conv2d(in_channels, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.PReLU(),
            nn.ConvTranspose2d(mid, mid, 2, stride=2, bias=False), nn.BatchNorm2d(mid), nn.PReLU(),
            nn.Conv2d(mid, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.Dropout2d(0.1))
        self.act = nn.PReLU()

    def forward(self, x, indices):
        return self.act(self.upsampling(self.conv(x), indices) + self.block(x))


def enet_middle_stage(channels, mid):
    """Stages 2 and 3: regular, dilated 2, asymmetric 5, dilated 4, regular, dilated 8, asymmetric 5, dilated 16."""
    return [
        Bottleneck(channels, mid, channels),
        Bottleneck(channels, mid, channels, dilation=2),
        Bottleneck(channels, mid, channels, asymmetric=True),
        Bottleneck(channels, mid, channels, dilation=4),
        Bottleneck(channels, mid, channels),
        Bottleneck(channels, mid, channels, dilation=8),
        Bottleneck(channels, mid, channels, asymmetric=True),
        Bottleneck(channels, mid, channels, dilation=16),
    ]


class ENet(nn.Module):
    """ENet at width 1 (blocks 16/64/128, bottlenecks 4/16/32). bottleneck3_5 is built and counted but not run."""
    SKIPPED_BLOCK = "bottleneck3_5"

    def __init__(self, in_channels=IN_CHANNELS, classes=CLASSES):
        super().__init__()
        c16, c64, c128, m4, m16, m32 = max(in_channels + 1, 16), 64, 128, 4, 16, 32
        # Built in ENet.cs's constructor order (the draws follow it), registered under the reference's names.
        initial = InitialBlock(in_channels, c16)
        down1 = Bottleneck(c16, m16, c64, downsampling=True)
        stage1 = [Bottleneck(c64, m16, c64) for _ in range(4)]
        down2 = Bottleneck(c64, m32, c128, downsampling=True)
        stage2 = enet_middle_stage(c128, m32)
        stage3 = enet_middle_stage(c128, m32)
        up4 = UpsamplingBottleneck(c128, m16, c64)
        stage4 = [Bottleneck(c64, m16, c64), Bottleneck(c64, m16, c64)]
        up5 = UpsamplingBottleneck(c64, m4, c16)
        stage5 = Bottleneck(c16, m4, c16)
        fullconv = nn.ConvTranspose2d(c16, classes, 2, stride=2, bias=False)

        self.initial = initial
        self.bottleneck1_0 = down1
        for i, b in enumerate(stage1):
            setattr(self, f"bottleneck1_{i + 1}", b)
        self.bottleneck2_0 = down2
        for i, b in enumerate(stage2):
            setattr(self, f"bottleneck2_{i + 1}", b)
        for i, b in enumerate(stage3):
            setattr(self, f"bottleneck3_{i + 1}", b)
        self.bottleneck4_0 = up4
        for i, b in enumerate(stage4):
            setattr(self, f"bottleneck4_{i + 1}", b)
        self.bottleneck5_0 = up5
        self.bottleneck5_1 = stage5
        self.fullconv = fullconv
        self.stage1 = [f"bottleneck1_{i}" for i in range(1, 5)]
        self.stage2 = [f"bottleneck2_{i}" for i in range(1, 9)]
        self.stage3 = [f"bottleneck3_{i}" for i in range(1, 9) if f"bottleneck3_{i}" != self.SKIPPED_BLOCK]

    def forward(self, x):
        """Logits and the taps of ENet.cs (initial, stage1, stage2, encoder, up1, decoder)."""
        taps = {}
        x = taps["initial"] = self.initial(x)
        x, indices1 = self.bottleneck1_0(x)
        for name in self.stage1:
            x = getattr(self, name)(x)
        taps["stage1"] = x
        x, indices2 = self.bottleneck2_0(x)
        for name in self.stage2:
            x = getattr(self, name)(x)
        taps["stage2"] = x
        for name in self.stage3:
            x = getattr(self, name)(x)
        taps["encoder"] = x
        x = self.bottleneck4_0(x, indices2)
        x = self.bottleneck4_2(self.bottleneck4_1(x))
        taps["up1"] = x
        x = self.bottleneck5_0(x, indices1)
        x = taps["decoder"] = self.bottleneck5_1(x)
        return self.fullconv(x), taps


# ---- DeepLabV3+ with aligned Xception-65 at output stride 8 (mirrors Xception.cs and DeepLabV3Plus.cs) ---------

class SeparableConv2d(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, dilation=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, in_channels, kernel_size, stride, 0, dilation, groups=in_channels, bias=False)
        self.bn = nn.BatchNorm2d(in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        pad_total = (kernel_size - 1) * dilation
        self.pad = (pad_total // 2, pad_total - pad_total // 2) * 2

    def forward(self, x):
        return self.pointwise(self.bn(self.conv1(F.pad(x, self.pad))))


class Block(nn.Module):
    """Xception block; one ReLU module shared by the block and every ReLU slot of rep. The skip path reads relu(x) when
    rep starts with that ReLU (the reference's in-place ReLU; XceptionBlock.SkipSeesActivatedInput = true)."""

    def __init__(self, in_channels, out_channels, reps, stride=1, dilation=1, start_with_relu=True, grow_first=True,
                 is_last=False):
        super().__init__()
        if out_channels != in_channels or stride != 1:
            self.skip = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
            self.skipbn = nn.BatchNorm2d(out_channels)
        else:
            self.skip = None
        self.relu = nn.ReLU()
        units = []
        filters = in_channels
        if grow_first:
            if start_with_relu:
                units.append(self.relu)
            units += [SeparableConv2d(in_channels, out_channels, 3, 1, dilation), nn.BatchNorm2d(out_channels)]
            filters = out_channels
        for _ in range(reps - 1):
            if grow_first or start_with_relu:
                units.append(self.relu)
            units += [SeparableConv2d(filters, filters, 3, 1, dilation), nn.BatchNorm2d(filters)]
        if not grow_first:
            units += [self.relu, SeparableConv2d(in_channels, out_channels, 3, 1, dilation)]
        if stride != 1:
            units += [self.relu, SeparableConv2d(out_channels, out_channels, 3, stride), nn.BatchNorm2d(out_channels)]
        elif is_last:
            units += [self.relu, SeparableConv2d(out_channels, out_channels, 3, 1, dilation), nn.BatchNorm2d(out_channels)]
        self.rep = nn.Sequential(*units)
        self.starts_with_relu = units[0] is self.relu

    def forward(self, x):
        skip_input = x
        for i, layer in enumerate(self.rep):
            x = layer(x)
            if i == 0 and self.starts_with_relu:
                skip_input = x
        residual = skip_input if self.skip is None else self.skipbn(self.skip(skip_input))
        return x + residual


class Xception65(nn.Module):
    def __init__(self, in_channels=IN_CHANNELS):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 32, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(32, 64, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.block1 = Block(64, 128, 2, stride=2, start_with_relu=False)
        self.block2 = Block(128, 256, 2, stride=2, start_with_relu=False, grow_first=True)
        self.block3 = Block(256, 728, 2, stride=1, start_with_relu=True, grow_first=True, is_last=True)
        self.midflow = nn.Sequential(*[Block(728, 728, 3, stride=1, dilation=2) for _ in range(16)])
        self.block20 = Block(728, 1024, 2, stride=1, dilation=2, start_with_relu=True, grow_first=False, is_last=True)
        self.conv3 = SeparableConv2d(1024, 1536, 3, 1, 4)
        self.bn3 = nn.BatchNorm2d(1536)
        self.conv4 = SeparableConv2d(1536, 1536, 3, 1, 4)
        self.bn4 = nn.BatchNorm2d(1536)
        self.conv5 = SeparableConv2d(1536, 2048, 3, 1, 4)
        self.bn5 = nn.BatchNorm2d(2048)
        # The ImageNet head: built (its draws count), never run.
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, 1000)


class ConvBNReLU(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class ASPPConv(nn.Module):
    def __init__(self, in_channels, out_channels, rate):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=rate, dilation=rate, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU())

    def forward(self, x):
        return self.block(x)


class ASPPPooling(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.gap = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                 nn.BatchNorm2d(out_channels), nn.ReLU())

    def forward(self, x):
        return F.interpolate(self.gap(x), x.shape[2:], mode="bilinear", align_corners=True)


class ASPP(nn.Module):
    def __init__(self, in_channels, out_channels, rates=(12, 24, 36)):
        super().__init__()
        self.b0 = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU())
        self.b1 = ASPPConv(in_channels, out_channels, rates[0])
        self.b2 = ASPPConv(in_channels, out_channels, rates[1])
        self.b3 = ASPPConv(in_channels, out_channels, rates[2])
        self.b4 = ASPPPooling(in_channels, out_channels)
        self.project = nn.Sequential(nn.Conv2d(5 * out_channels, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels), nn.ReLU(), nn.Dropout(0.5))

    def forward(self, x):
        return self.project(torch.cat([self.b0(x), self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1))


class DeepLabHead(nn.Module):
    def __init__(self, classes, in_channels=2048, low_level_channels=128):
        super().__init__()
        self.aspp = ASPP(in_channels, 256)
        self.c1_block = ConvBNReLU(low_level_channels, 48, 3, padding=1)
        self.block = nn.Sequential(
            ConvBNReLU(256 + 48, 256, 3, padding=1), nn.Dropout(0.5),
            ConvBNReLU(256, 256, 3, padding=1), nn.Dropout(0.1),
            nn.Conv2d(256, classes, 1))

    def forward(self, features, low_level):
        """(logits at the low-level resolution, ASPP output, decoder feature = the classifier's input)."""
        c1 = self.c1_block(low_level)
        aspp = self.aspp(features)
        x = torch.cat([F.interpolate(aspp, low_level.shape[2:], mode="bilinear", align_corners=True), c1], 1)
        for layer in list(self.block)[:-1]:
            x = layer(x)
        return self.block[-1](x), aspp, x


class DeepLabV3Plus(nn.Module):
    def __init__(self, in_channels=IN_CHANNELS, classes=CLASSES):
        super().__init__()
        self.pretrained = Xception65(in_channels)
        self.head = DeepLabHead(classes)

    def forward(self, image):
        """Logits at the input size and the taps of DeepLabV3Plus.cs (stem, low_level, mid_level, encoder, aspp, decoder)."""
        b, taps = self.pretrained, {}
        x = taps["stem"] = b.relu(b.bn1(b.conv1(image)))
        x = b.relu(b.bn2(b.conv2(x)))
        low_level = taps["low_level"] = b.relu(b.block1(x))
        x = b.block3(b.block2(low_level))
        x = taps["mid_level"] = b.midflow(x)
        x = b.relu(b.block20(x))
        x = b.relu(b.bn3(b.conv3(x)))
        x = b.relu(b.bn4(b.conv4(x)))
        features = taps["encoder"] = b.relu(b.bn5(b.conv5(x)))
        logits, taps["aspp"], taps["decoder"] = self.head(features, low_level)
        return F.interpolate(logits, image.shape[2:], mode="bilinear", align_corners=True), taps


# ---- losses (LOSS-SPEC.md) ---------------------------------------------------------------------------------------

def dice_loss(logits, label):
    """1 - mean over the foreground classes of the batch-global soft Dice."""
    probs = F.softmax(logits, 1)
    onehot = F.one_hot(label, logits.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)
    p, g = probs[:, 1:], onehot[:, 1:]
    dims = (0, 2, 3)
    dice = (2 * (p * g).sum(dims) + DICE_SMOOTH) / (p.sum(dims) + g.sum(dims) + DICE_SMOOTH)
    return 1 - dice.mean()


def focal_loss(logits, label):
    log_pt = F.log_softmax(logits, 1).gather(1, label.unsqueeze(1)).squeeze(1)
    return (-(1 - log_pt.exp()).pow(FOCAL_GAMMA) * log_pt).mean()


def lm_loss(student_logits, teacher_logits):
    """KL(p_s || p_t) per pixel, mean over pixels, T = 1 (no T^2 factor needed)."""
    if teacher_logits.shape[2:] != student_logits.shape[2:]:
        teacher_logits = F.interpolate(teacher_logits, student_logits.shape[2:], mode="bilinear", align_corners=False)
    log_ps = F.log_softmax(student_logits / LM_TEMPERATURE, 1)
    log_pt = F.log_softmax(teacher_logits / LM_TEMPERATURE, 1)
    kl = (log_ps.exp() * (log_ps - log_pt)).sum(1).mean()
    return kl * LM_TEMPERATURE ** 2 if LM_TEMPERATURE != 1 else kl


def kmm_loss(adapter, student_feature, teacher_feature):
    """Batch kernel matrices of the L2-normalised flattened maps; mean squared plus mean absolute difference."""
    a = adapter(student_feature)
    if a.shape[2:] != teacher_feature.shape[2:]:
        a = F.interpolate(a, teacher_feature.shape[2:], mode="bilinear", align_corners=False)
    xs, xt = a.flatten(1), teacher_feature.flatten(1)
    xs = xs / xs.norm(dim=1, keepdim=True).clamp_min(KMM_NORM_EPS)
    xt = xt / xt.norm(dim=1, keepdim=True).clamp_min(KMM_NORM_EPS)
    d = xs @ xs.t() - xt @ xt.t()
    return d.pow(2).mean() + d.abs().mean()


def aam_loss(student_logits, teacher_logits):
    """Affinity pairs over a 3x3 neighbourhood (offsets row-major, dy then dx from -d to d, centre skipped): mean KL over
    pairs the teacher labels alike, mean hinge max(0, m - KL) over pairs it labels apart. A count of 0 gives a sum of 0,
    so dividing by max(count, 1) makes an empty set contribute 0 without a host sync."""
    yhat = teacher_logits.argmax(1)
    log_p = F.log_softmax(student_logits, 1)
    p = log_p.exp()
    h, w = student_logits.shape[2:]
    r = AAM_KERNEL // 2
    pos_sum = pos_n = neg_sum = neg_n = 0
    for d in AAM_DILATIONS:
        for oy in range(-r, r + 1):
            for ox in range(-r, r + 1):
                dy, dx = oy * d, ox * d
                if (dy == 0 and dx == 0) or abs(dy) >= h or abs(dx) >= w:
                    continue
                # i: pixels whose neighbour j = i + (dy, dx) lies inside the image; j: those neighbours.
                iy, jy = slice(max(0, -dy), h - max(0, dy)), slice(max(0, dy), h - max(0, -dy))
                ix, jx = slice(max(0, -dx), w - max(0, dx)), slice(max(0, dx), w - max(0, -dx))
                kl = (p[:, :, iy, ix] * (log_p[:, :, iy, ix] - log_p[:, :, jy, jx])).sum(1)
                same = (yhat[:, iy, ix] == yhat[:, jy, jx]).to(kl.dtype)
                diff = 1 - same
                pos_sum = pos_sum + (kl * same).sum()
                pos_n = pos_n + same.sum()
                neg_sum = neg_sum + ((AAM_MARGIN - kl).clamp_min(0) * diff).sum()
                neg_n = neg_n + diff.sum()
    return pos_sum / pos_n.clamp_min(1) + neg_sum / neg_n.clamp_min(1)


# ---- the benchmark -----------------------------------------------------------------------------------------------

PARTS = ("teacher-forward", "student-forward", "loss-seg", "loss-lm", "loss-kmm", "loss-aam", "backward-step")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10, help="timed steps (default 10; the teacher costs ~15 GMAC an image)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (default: torch's own default)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--breakdown", action="store_true",
                    help="after the timed steps, run --steps more with a clock between the parts and print each part's median")
    args = ap.parse_args()
    if args.steps < 1 or args.warmup < 0:
        ap.error("--steps must be >= 1 and --warmup >= 0")

    torch.manual_seed(args.seed)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"

    teacher = DeepLabV3Plus()
    student = ENet()
    adapter = nn.Conv2d(128, 2048, 1, bias=True)
    teacher.to(device).eval().requires_grad_(False)
    student.to(device).train()
    adapter.to(device).train()
    x = torch.randn(BATCH, IN_CHANNELS, SIZE, SIZE, dtype=torch.float32, device=device)
    y = torch.randint(0, CLASSES, (BATCH, SIZE, SIZE), dtype=torch.int64, device=device)
    opt = torch.optim.Adam(list(student.parameters()) + list(adapter.parameters()), lr=LR)

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    def step(clock=None):
        """One step; with a clock list, appends the time of each part (synchronising between parts on CUDA)."""
        def mark():
            if clock is not None:
                sync()
                clock.append(time.perf_counter())
        mark()
        with torch.no_grad():
            t_logits, t_taps = teacher(x)
        mark()
        s_logits, s_taps = student(x)
        mark()
        dice, focal = dice_loss(s_logits, y), focal_loss(s_logits, y)
        seg = W_DICE * dice + W_FOCAL * focal
        mark()
        lm = lm_loss(s_logits, t_logits)
        mark()
        kmm = kmm_loss(adapter, s_taps["encoder"], t_taps["encoder"])
        mark()
        aam = aam_loss(s_logits, t_logits)
        mark()
        loss = seg + LAMBDA_LM * lm + LAMBDA_KMM * kmm + LAMBDA_AAM * aam
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        mark()
        return {"dice": dice, "focal": focal, "seg": seg, "lm": lm, "kmm": kmm, "aam": aam, "total": loss}

    # The warm-up losses show that both sides compute the same thing: same seed, same weights, same inputs.
    first_terms, first_totals = None, []
    for _ in range(args.warmup):
        terms = step()
        first_totals.append(terms["total"].item())
        if first_terms is None:
            first_terms = {k: v.item() for k, v in terms.items()}
    sync()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        # Without a sync a CUDA step only measures kernel launches.
        sync()
        times.append((time.perf_counter() - t0) * 1000.0)

    parts = None
    if args.breakdown:
        parts = {name: [] for name in PARTS}
        for _ in range(args.steps):
            clock = []
            step(clock)
            for name, t0, t1 in zip(PARTS, clock, clock[1:]):
                parts[name].append((t1 - t0) * 1000.0)

    print(f"torch={torch.__version__} threads={torch.get_num_threads()} device={device} steps={args.steps}",
          file=sys.stderr)
    if first_terms is not None:
        print("first-terms=" + ",".join(f"{k}:{v:.6f}" for k, v in first_terms.items()))
        print("first-losses=" + ",".join(f"{v:.6f}" for v in first_totals[:3]))
    if parts is not None:
        medians = {name: statistics.median(v) for name, v in parts.items()}
        total = sum(medians.values())
        for name, ms in medians.items():
            print(f"breakdown part={name} ms={ms:.3f} share={100.0 * ms / total:.1f}%")
        print(f"breakdown part=sum ms={total:.3f}")
    print(f"pytorch-step-ms={statistics.median(times):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
