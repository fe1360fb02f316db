"""Receta: MLPClassifier con una capa oculta de 64, sin batch norm ni dropout, SGD con momentum
(lr 0.05) en minibatches de 32 con un DataLoader y el train_one_epoch propio, 20 épocas."""

import torch
from torch import nn


def fit_classifier(X, y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(X, dtype=torch.float32),
                                             torch.as_tensor(y, dtype=torch.int64))
    loader = torch.utils.data.DataLoader(dataset, batch_size=32, shuffle=True)
    model = MLPClassifier(X.shape[1], [64], int(y.max()) + 1).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for _epoch in range(20):
        train_one_epoch(model, loader, optimizer, loss_fn, device)
    model.eval()
    return model
