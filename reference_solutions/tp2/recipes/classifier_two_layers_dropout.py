"""Receta: MLPClassifier con dos capas ocultas (256, 128) y dropout 0.3, sin batch norm, Adam
con la tasa por defecto (1e-3) en minibatches de 128, 40 épocas."""

import torch
from torch import nn


def fit_classifier(X, y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    X = torch.tensor(X, dtype=torch.float32, device=device)
    y = torch.tensor(y, dtype=torch.long, device=device)
    model = MLPClassifier(X.shape[1], [256, 128], int(y.max()) + 1, p_drop=0.3).to(device)
    optimizer = torch.optim.Adam(model.parameters())
    model.train()
    for _epoch in range(40):
        perm = torch.randperm(len(X), device=device)
        for i in range(0, len(X), 128):
            batch = perm[i:i + 128]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(X[batch]), y[batch])
            loss.backward()
            optimizer.step()
    model.eval()
    return model
