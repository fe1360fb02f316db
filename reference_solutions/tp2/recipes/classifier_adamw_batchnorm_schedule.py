"""Receta: MLPClassifier con dos capas ocultas de 100 y batch norm, AdamW (lr 1e-2, weight decay
1e-2) con la tasa que baja a la mitad cada 5 épocas (StepLR), minibatches de 32, 15 épocas."""

import torch
from torch import nn


def fit_classifier(X, y, *, seed=0, device="cpu"):
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(y))
    loader = torch.utils.data.DataLoader(dataset, batch_size=32, shuffle=True,
                                         generator=generator)
    n_classes = int(y.max()) + 1
    model = MLPClassifier(X.shape[1], [100, 100], n_classes, batchnorm=True).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()
    for _epoch in range(15):
        model.train()
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
        scheduler.step()
    return model.eval()
