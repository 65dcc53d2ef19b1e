"""torchvision's ResNet, MobileNet v2, VGG, AlexNet, DenseNet-121, GoogLeNet and ViT written out in PyTorch (torchvision is not
installed here): the same module names, so their state_dict keys are torchvision's, and the
same computation, so faltung's models can be compared with them number by number."""
from __future__ import annotations


def resnet(torch, block: str, counts, groups=1, width_per_group=64, num_classes=1000):
    nn = torch.nn

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, c_in, planes, stride, downsample):
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, c_in, planes, stride, downsample):
            super().__init__()
            width = planes * width_per_group // 64 * groups
            self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * 4)
            self.relu = nn.ReLU()
            self.downsample = downsample

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    kind = BasicBlock if block == "basic" else Bottleneck

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU()
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            c_in = 64
            for index, (planes, count) in enumerate(zip((64, 128, 256, 512), counts)):
                blocks = []
                for b in range(count):
                    stride = 2 if b == 0 and index > 0 else 1
                    c_out = planes * kind.expansion
                    down = None
                    if stride != 1 or c_in != c_out:
                        down = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                             nn.BatchNorm2d(c_out))
                    blocks.append(kind(c_in, planes, stride, down))
                    c_in = c_out
                setattr(self, f"layer{index + 1}", nn.Sequential(*blocks))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(c_in, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet()


def mobilenet_v2(torch, num_classes=1000):
    nn = torch.nn

    def conv_bn(c_in, c_out, kernel, stride=1, groups=1, act=True):
        layers = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
                  nn.BatchNorm2d(c_out)]
        return layers + ([nn.ReLU6()] if act else [])

    class InvertedResidual(nn.Module):
        def __init__(self, c_in, c_out, stride, t):
            super().__init__()
            hidden = c_in * t
            layers = [nn.Sequential(*conv_bn(c_in, hidden, 1))] if t != 1 else []
            layers += [nn.Sequential(*conv_bn(hidden, hidden, 3, stride, hidden)),
                       *conv_bn(hidden, c_out, 1, act=False)]
            self.conv = nn.Sequential(*layers)
            self.use_res_connect = stride == 1 and c_in == c_out

        def forward(self, x):
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self):
            super().__init__()
            layers, c = [nn.Sequential(*conv_bn(3, 32, 3, 2))], 32
            for t, c_out, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                                   (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
                for i in range(n):
                    layers.append(InvertedResidual(c, c_out, s if i == 0 else 1, t))
                    c = c_out
            layers.append(nn.Sequential(*conv_bn(c, 1280, 1)))
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

        def forward(self, x):
            x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
            return self.classifier(torch.flatten(x, 1))

    return MobileNetV2()


def vgg(torch, config):
    nn = torch.nn
    layers, c = [], 3
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, item, 3, padding=1), nn.ReLU()]
            c = item
    model = nn.Module()
    model.features = nn.Sequential(*layers)
    model.avgpool = nn.AdaptiveAvgPool2d(7)
    model.classifier = nn.Sequential(nn.Linear(25088, 4096), nn.ReLU(), nn.Dropout(),
                                     nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(),
                                     nn.Linear(4096, 1000))
    return model


def alexnet(torch):
    nn = torch.nn
    model = nn.Module()
    model.features = nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1),
        nn.ReLU(), nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))
    model.avgpool = nn.AdaptiveAvgPool2d(6)
    model.classifier = nn.Sequential(nn.Dropout(), nn.Linear(9216, 4096), nn.ReLU(),
                                     nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(),
                                     nn.Linear(4096, 1000))
    return model


def densenet121(torch):
    nn = torch.nn

    class DenseLayer(nn.Module):
        def __init__(self, c_in):
            super().__init__()
            self.norm1, self.relu1 = nn.BatchNorm2d(c_in), nn.ReLU()
            self.conv1 = nn.Conv2d(c_in, 128, 1, bias=False)
            self.norm2, self.relu2 = nn.BatchNorm2d(128), nn.ReLU()
            self.conv2 = nn.Conv2d(128, 32, 3, padding=1, bias=False)

        def forward(self, x):
            new = self.conv1(self.relu1(self.norm1(x)))
            return torch.cat([x, self.conv2(self.relu2(self.norm2(new)))], 1)

    features = nn.Sequential()
    features.add_module("conv0", nn.Conv2d(3, 64, 7, 2, 3, bias=False))
    features.add_module("norm0", nn.BatchNorm2d(64))
    features.add_module("relu0", nn.ReLU())
    features.add_module("pool0", nn.MaxPool2d(3, 2, 1))
    c = 64
    for index, count in enumerate((6, 12, 24, 16)):
        block = nn.Sequential()
        for n in range(count):
            block.add_module(f"denselayer{n + 1}", DenseLayer(c + 32 * n))
        features.add_module(f"denseblock{index + 1}", block)
        c += 32 * count
        if index < 3:
            features.add_module(f"transition{index + 1}", _transition(nn, c))
            c //= 2
    features.add_module("norm5", nn.BatchNorm2d(c))

    class DenseNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = features
            self.classifier = nn.Linear(c, 1000)

        def forward(self, x):
            x = nn.functional.adaptive_avg_pool2d(torch.relu(self.features(x)), 1)
            return self.classifier(torch.flatten(x, 1))

    return DenseNet()


def _transition(nn, c):
    t = nn.Sequential()
    t.add_module("norm", nn.BatchNorm2d(c))
    t.add_module("relu", nn.ReLU())
    t.add_module("conv", nn.Conv2d(c, c // 2, 1, bias=False))
    t.add_module("pool", nn.AvgPool2d(2, 2))
    return t


def vit(torch, image_size, dim=192, depth=12, heads=3, mlp_dim=768, num_classes=1000):
    nn = torch.nn

    class EncoderBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
            self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
            self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
            self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(0.0),
                                     nn.Linear(mlp_dim, dim), nn.Dropout(0.0))

        def forward(self, x):
            h = self.ln_1(x)
            x = x + self.self_attention(h, h, h, need_weights=False)[0]
            return x + self.mlp(self.ln_2(x))

    class Encoder(nn.Module):
        def __init__(self, tokens):
            super().__init__()
            self.pos_embedding = nn.Parameter(torch.zeros(1, tokens, dim))
            self.layers = nn.Sequential()
            for i in range(depth):
                self.layers.add_module(f"encoder_layer_{i}", EncoderBlock())
            self.ln = nn.LayerNorm(dim, eps=1e-6)

        def forward(self, x):
            return self.ln(self.layers(x + self.pos_embedding))

    class VisionTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
            self.conv_proj = nn.Conv2d(3, dim, 16, 16)
            self.encoder = Encoder((image_size // 16) ** 2 + 1)
            self.heads = nn.Sequential()
            self.heads.add_module("head", nn.Linear(dim, num_classes))

        def forward(self, x):
            x = self.conv_proj(x).flatten(2).transpose(1, 2)
            x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], 1)
            return self.heads(self.encoder(x)[:, 0])

    return VisionTransformer()


def googlenet(torch, num_classes=1000):
    """torchvision's GoogLeNet with aux_logits=False, transform_input=False."""
    nn = torch.nn

    class BasicConv2d(nn.Module):
        def __init__(self, c_in, c_out, kernel, padding=0, stride=1):
            super().__init__()
            self.conv = nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False)
            self.bn = nn.BatchNorm2d(c_out, eps=0.001)

        def forward(self, x):
            return torch.relu(self.bn(self.conv(x)))

    class Inception(nn.Module):
        def __init__(self, c_in, n1, r3, n3, r5, n5, proj):
            super().__init__()
            self.branch1 = BasicConv2d(c_in, n1, 1)
            self.branch2 = nn.Sequential(BasicConv2d(c_in, r3, 1), BasicConv2d(r3, n3, 3, 1))
            self.branch3 = nn.Sequential(BasicConv2d(c_in, r5, 1), BasicConv2d(r5, n5, 3, 1))
            self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True),
                                         BasicConv2d(c_in, proj, 1))

        def forward(self, x):
            return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x),
                              self.branch4(x)], 1)

    class GoogLeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = BasicConv2d(3, 64, 7, 3, 2)
            self.maxpool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv2 = BasicConv2d(64, 64, 1)
            self.conv3 = BasicConv2d(64, 192, 3, 1)
            self.maxpool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
            self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
            self.maxpool3 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
            self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
            self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
            self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
            self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
            self.maxpool4 = nn.MaxPool2d(2, 2, ceil_mode=True)
            self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
            self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.dropout = nn.Dropout(0.2)
            self.fc = nn.Linear(1024, num_classes)

        def forward(self, x):
            for module in list(self.children())[:-2]:
                x = module(x)
            return self.fc(self.dropout(torch.flatten(x, 1)))

    return GoogLeNet()
