"""Receta: una SmallCNN al estilo LeNet (conv 5x5 de 6 canales - max pooling - conv 3x3 de 16 -
max pooling - lineales 120 y 84), Adam con lr 1e-3 en minibatches de 64, 25 épocas."""

import torch
from torch import nn


class SmallCNN(nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 2 * 2, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, n_classes)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


def fit_cnn(X, y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    model = SmallCNN().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(25):
        model.train()
        order = torch.randperm(len(y), generator=g)
        for start in range(0, len(y), 64):
            idx = order[start:start + 64]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(X[idx].to(device)), y[idx].to(device))
            loss.backward()
            opt.step()
    model.eval()
    return model
