"""PyTorch equivalents of MedCIL's model zoo.

MedCIL writes checkpoints as safetensors with exactly these state_dict keys and layouts, so a
user can leave for PyTorch:

    from safetensors.torch import load_file
    model = ResNet18(in_channels=1, num_classes=8, width=64, stem="cifar")
    model.load_state_dict(load_file("expert.safetensors"), strict=True)

The same definitions serve the golden-tensor generator (Tests/Golden/make_golden.py) and the
training benchmark peer (train_torch.py). Layouts: conv weights [out, in, kh, kw]; transposed
conv weights [in, out, kh, kw]; linear weights [out, in]; BatchNorm buffers running_mean,
running_var and num_batches_tracked (int64).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBNReLU(nn.Module):
    """conv (no bias) -> BatchNorm -> ReLU."""

    def __init__(self, cin, cout, kernel=3, stride=1, padding=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class SmallCNN(nn.Module):
    """Blocks of conv3x3 + BN + ReLU + max-pool 2, then a linear head on the flattened map.

    keys: blocks.{i}.conv.weight, blocks.{i}.bn.*, head.weight, head.bias
    """

    def __init__(self, in_channels=1, num_classes=10, widths=(32, 64, 128, 256), input_size=64):
        super().__init__()
        blocks, cin, size = [], in_channels, input_size
        for width in widths:
            blocks.append(ConvBNReLU(cin, width))
            cin, size = width, size // 2
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(cin * size * size, num_classes)

    def forward(self, x):
        for block in self.blocks:
            x = F.max_pool2d(block(x), 2)
        return self.head(torch.flatten(x, 1))


class BasicBlock(nn.Module):
    """ResNet basic block: conv-BN-ReLU-conv-BN, plus the shortcut (identity, or a 1x1 conv + BN
    when the shape changes), then ReLU. keys: conv1, bn1, conv2, bn2, shortcut.0, shortcut.1"""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18. stem "cifar": conv 3x3 stride 1, no max-pool (the seed's echo expert, after
    RobustBench); stem "imagenet": conv 7x7 stride 2 + max-pool 3x3 stride 2. Widths are
    width, 2w, 4w, 8w; the head is adaptive average pool -> dropout -> linear.

    keys: conv1, bn1, layer{1..4}.{0,1}.{conv1,bn1,conv2,bn2,shortcut.0,shortcut.1}, linear
    """

    def __init__(self, in_channels=1, num_classes=8, width=64, stem="cifar", dropout=0.1):
        super().__init__()
        self.stem = stem
        if stem == "cifar":
            self.conv1 = nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        widths = [width, 2 * width, 4 * width, 8 * width]
        cin = width
        for index, (w, stride) in enumerate(zip(widths, [1, 2, 2, 2])):
            setattr(self, f"layer{index + 1}", nn.Sequential(BasicBlock(cin, w, stride), BasicBlock(w, w, 1)))
            cin = w
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(cin, num_classes)

    def features(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        if self.stem != "cifar":
            x = F.max_pool2d(x, 3, stride=2, padding=1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)

    def forward(self, x):
        return self.linear(self.dropout(self.features(x)))


class CosineLinear(nn.Module):
    """logits = sigma * <f/|f|, w_c/|w_c|>, learnable scalar sigma. keys: weight [out, in], sigma [1]"""

    def __init__(self, in_features, out_features, sigma=True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-1 / in_features ** 0.5, 1 / in_features ** 0.5))
        self.sigma = nn.Parameter(torch.ones(1)) if sigma else None

    def forward(self, x):
        out = F.linear(F.normalize(x, p=2, dim=1), F.normalize(self.weight, p=2, dim=1))
        return out if self.sigma is None else self.sigma * out


class SplitCosineLinear(nn.Module):
    """Old classes (fc1) and new classes (fc2) as cosine layers without their own scale,
    concatenated and scaled by one shared sigma. keys: fc1.weight, fc2.weight, sigma"""

    def __init__(self, in_features, old_classes, new_classes):
        super().__init__()
        self.fc1 = CosineLinear(in_features, old_classes, sigma=False)
        self.fc2 = CosineLinear(in_features, new_classes, sigma=False)
        self.sigma = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return self.sigma * torch.cat([self.fc1(x), self.fc2(x)], dim=1)


class ContinualNorm(nn.BatchNorm2d):
    """Continual Normalization (Pham et al. 2022): group norm without affine over `groups`
    groups, then batch norm with affine. keys as BatchNorm2d."""

    def __init__(self, channels, groups=4, momentum=0.1):
        super().__init__(channels, momentum=momentum)
        self.groups = groups

    def forward(self, x):
        return super().forward(F.group_norm(x, self.groups, eps=1e-5))


class ResidualBlock(nn.Module):
    """conv-norm-ReLU-conv-norm (+ shortcut) -> ReLU, stride 1; 1x1 conv + norm shortcut when
    the channel count changes. keys: conv1, bn1, conv2, bn2, shortcut.0, shortcut.1"""

    def __init__(self, cin, cout, norm):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn1 = norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = norm(cout)
        self.shortcut = nn.Sequential()
        if cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), norm(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CCSINet(nn.Module):
    """The small residual net of the CCSI reference (methods.md section 2.3): conv 3x3 stride 2
    to 16 channels, three residual blocks (16, 32, 64), average pool 7 (stride 7), a 256-d
    feature at 32x32 input, and a cosine classifier.

    keys: conv, bn, layer{1,2,3}.*, fc.weight, fc.sigma (fc.fc1/fc.fc2 after a split)
    """

    def __init__(self, in_channels=3, num_classes=2, norm="bn", groups=4):
        super().__init__()
        make = (lambda c: nn.BatchNorm2d(c)) if norm == "bn" else (lambda c: ContinualNorm(c, groups=groups))
        self.conv = nn.Conv2d(in_channels, 16, 3, stride=2, padding=1, bias=False)
        self.bn = make(16)
        self.layer1 = ResidualBlock(16, 16, make)
        self.layer2 = ResidualBlock(16, 32, make)
        self.layer3 = ResidualBlock(32, 64, make)
        self.fc = CosineLinear(256, num_classes)

    def features(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return torch.flatten(F.avg_pool2d(x, 7), 1)

    def forward(self, x):
        return self.fc(self.features(x))


class UNetHead(nn.Module):
    """conv3x3+BN+ReLU -> dropout -> conv3x3+BN+ReLU -> dropout -> conv1x1 + BN (the logits).
    keys: block1.*, block2.*, out.conv.weight, out.bn.*"""

    def __init__(self, width, classes, dropout):
        super().__init__()
        self.block1 = ConvBNReLU(width, width)
        self.block2 = ConvBNReLU(width, width)
        self.out = nn.Module()
        self.out.conv = nn.Conv2d(width, classes, 1, bias=False)
        self.out.bn = nn.BatchNorm2d(classes)
        self.dropout = dropout

    def forward(self, x):
        x = F.dropout2d(self.block1(x), self.dropout, self.training)
        x = F.dropout2d(self.block2(x), self.dropout, self.training)
        return self.out.bn(self.out.conv(x))


class UNet(nn.Module):
    """2D U-Net of LwfSeg/AeiSeg (methods.md section 3.2): 4 levels of [conv3x3+BN+ReLU] x 2 and
    max-pool, a 16*base bottleneck (the abstraction layer is bottleneck.1), decoder levels of
    dropout -> transposed conv 4x4 stride 2 + BN + ReLU -> concat skip -> [conv3x3+BN+ReLU] x 2,
    spatial dropout after the last pool and at the end of the body, and one head per increment.

    keys: enc{0..3}.{0,1}.*, bottleneck.{0,1}.*, up{0..3}.{conv,bn}.*, dec{0..3}.{0,1}.*, heads.{k}.*
    """

    def __init__(self, in_channels=1, base=32, heads=(3,), dropout=0.5):
        super().__init__()
        widths = [base, 2 * base, 4 * base, 8 * base]
        cin = in_channels
        for level, width in enumerate(widths):
            setattr(self, f"enc{level}", nn.Sequential(ConvBNReLU(cin, width), ConvBNReLU(width, width)))
            cin = width
        self.bottleneck = nn.Sequential(ConvBNReLU(cin, 16 * base), ConvBNReLU(16 * base, 16 * base))
        cin = 16 * base
        for level in reversed(range(4)):
            width = widths[level]
            up = nn.Module()
            up.conv = nn.ConvTranspose2d(cin, width, 4, stride=2, padding=1, bias=False)
            up.bn = nn.BatchNorm2d(width)
            setattr(self, f"up{level}", up)
            setattr(self, f"dec{level}", nn.Sequential(ConvBNReLU(2 * width, width), ConvBNReLU(width, width)))
            cin = width
        self.heads = nn.ModuleList([UNetHead(base, classes, dropout) for classes in heads])
        self.dropout = dropout

    def body(self, x):
        skips = []
        for level in range(4):
            x = getattr(self, f"enc{level}")(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = F.dropout2d(x, self.dropout, self.training)
        x = self.bottleneck(x)
        for level in reversed(range(4)):
            x = F.dropout2d(x, self.dropout, self.training)
            up = getattr(self, f"up{level}")
            x = F.relu(up.bn(up.conv(x)))
            x = getattr(self, f"dec{level}")(torch.cat([x, skips[level]], dim=1))
        return F.dropout2d(x, self.dropout, self.training)

    def forward(self, x, head=0):
        return self.heads[head](self.body(x))


class ScoreFusion(nn.Module):
    """Score fusion of Bransby et al. 2024 (methods.md section 1.8) over E frozen experts with
    class counts C_e: one Linear(D, C_e) with bias per ordered pair (e <- j), j != e, and for
    the weighted variants an MLP in -> 64 -> 16 -> E with a softmax giving weights A:

        z_e = A_e l_e + sum_{j != e} A_j W_{e<-j} h_j      (SF: all A = 1)

    then the knowledge pooler (each class takes the largest score of the experts that know it).
    weighting: None (SF), "nmd" (nmd-wSF, MLP on the concatenated NMD vectors) or "attn"
    (attn-wSF, MLP on the concatenated features).

    keys: cross.{k}.{weight,bias} (pairs in the order e, then j != e), weighting.{0,1,2}.{weight,bias}
    """

    def __init__(self, class_counts, feature_dim=512, weighting=None, nmd_dim=None):
        super().__init__()
        self.class_counts = list(class_counts)
        experts = len(self.class_counts)
        self.cross = nn.ModuleList([nn.Linear(feature_dim, self.class_counts[e])
                                    for e in range(experts) for j in range(experts) if j != e])
        self.kind = weighting
        if weighting is not None:
            width = nmd_dim if weighting == "nmd" else feature_dim * experts
            self.weighting = nn.ModuleList([nn.Linear(width, 64), nn.Linear(64, 16), nn.Linear(16, experts)])

    def forward(self, features, logits, nmd, pooled_sources):
        """features [N, E, D], logits [N, sum C_e], nmd [N, F]; pooled_sources: per pooled class
        the list of (expert, index). Returns (pooled [N, G], fused scores [N, sum C_e], A or None)."""
        experts = len(self.class_counts)
        weights = None
        if self.kind is not None:
            x = nmd if self.kind == "nmd" else features.reshape(features.shape[0], -1)
            x = F.relu(self.weighting[0](x))
            x = F.relu(self.weighting[1](x))
            weights = F.softmax(self.weighting[2](x), dim=1)
        offsets = [sum(self.class_counts[:e]) for e in range(experts)]
        scores, pair = [], 0
        for e in range(experts):
            own = logits[:, offsets[e]:offsets[e] + self.class_counts[e]]
            z = own if weights is None else weights[:, e:e + 1] * own
            for j in range(experts):
                if j == e:
                    continue
                term = self.cross[pair](features[:, j])
                z = z + (term if weights is None else weights[:, j:j + 1] * term)
                pair += 1
            scores.append(z)
        fused = torch.cat(scores, dim=1)
        pooled = torch.stack([torch.stack([fused[:, offsets[e] + k] for e, k in sources], dim=1).max(dim=1).values
                              for sources in pooled_sources], dim=1)
        return pooled, fused, weights
