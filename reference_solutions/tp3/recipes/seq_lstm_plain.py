"""Receta: el SeqRegressor por defecto (LSTM de 32) entrenado con Adam a tasa fija 5e-3 en
minibatches de 64, 30 épocas, sin recorte de gradiente ni schedule."""

import torch
from torch import nn


def fit_seq_regressor(X, Y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    X = torch.tensor(X, dtype=torch.float32, device=device)
    Y = torch.tensor(Y, dtype=torch.float32, device=device)
    model = SeqRegressor().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _epoch in range(30):
        model.train()
        perm = torch.randperm(len(X), device=device)
        for i in range(0, len(X), 64):
            idx = perm[i:i + 64]
            optimizer.zero_grad()
            nn.functional.mse_loss(model(X[idx]), Y[idx]).backward()
            optimizer.step()
    model.eval()
    return model
