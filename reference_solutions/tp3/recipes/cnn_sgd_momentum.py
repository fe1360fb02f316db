"""Receta: la SmallCNN de la referencia (dos convoluciones 3x3, max pooling, dos lineales)
entrenada con SGD con momentum (lr 0.05) en minibatches de 32 de un DataLoader, 15 épocas."""

import torch
from torch import nn


def fit_cnn(X, y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(X, dtype=torch.float32),
                                             torch.as_tensor(y, dtype=torch.int64))
    loader = torch.utils.data.DataLoader(dataset, batch_size=32, shuffle=True)
    model = SmallCNN().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _epoch in range(15):
        model.train()
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
    model.eval()
    return model
