"""Receta: una SmallCNN más ancha con batch norm y dropout (conv 32 - BN - conv 64 - BN - max
pooling - dropout 0.25 - lineal 128 - dropout 0.5), Adam con lr 1e-3 en minibatches de 64, 20
épocas."""

import torch
from torch import nn


class SmallCNN(nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.MaxPool2d(2), nn.Dropout(0.25))
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(64 * 4 * 4, 128), nn.ReLU(),
                                nn.Dropout(0.5), nn.Linear(128, n_classes))

    def forward(self, x):
        return self.fc(self.conv(x))


def fit_cnn(X, y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    X = torch.tensor(X, dtype=torch.float32, device=device)
    y = torch.tensor(y, dtype=torch.long, device=device)
    model = SmallCNN().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _epoch in range(20):
        model.train()
        perm = torch.randperm(len(X), device=device)
        for i in range(0, len(X), 64):
            idx = perm[i:i + 64]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
            optimizer.step()
    return model.eval()
