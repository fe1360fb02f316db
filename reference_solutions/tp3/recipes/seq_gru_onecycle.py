"""Receta: SeqRegressor con una GRU de 48 unidades, Adam con la tasa de un ciclo (OneCycleLR,
máximo 1e-2) y recorte de la norma del gradiente a 1, como sugiere el enunciado, minibatches de
64 de un DataLoader, 20 épocas."""

import torch
from torch import nn


def fit_seq_regressor(X, Y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(Y)),
        batch_size=64, shuffle=True)
    model = SeqRegressor(hidden=48, cell="GRU").to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    epochs = 20
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, epochs=epochs,
                                                    steps_per_epoch=len(loader))
    for _epoch in range(epochs):
        model.train()
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
    model.eval()
    return model
