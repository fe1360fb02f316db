"""Receta: embeddings de usuario e ítem concatenados y un MLP que predice el rating (estilo
NCF), con dropout, Adam (lr 1e-2) en minibatches de 128 y 80 épocas."""

import torch
from torch import nn


class EmbeddingRecommender(nn.Module):
    def __init__(self, n_users, n_items, dim):
        super().__init__()
        self.user_embedding = nn.Embedding(n_users, dim)
        self.item_embedding = nn.Embedding(n_items, dim)
        self.head = nn.Sequential(nn.Linear(2 * dim, 64), nn.ReLU(), nn.Dropout(0.1),
                                  nn.Linear(64, 1))
        self.register_buffer("center", torch.zeros(()))

    def forward(self, user_idx, item_idx):
        features = torch.cat([self.user_embedding(user_idx), self.item_embedding(item_idx)], dim=1)
        return self.head(features).squeeze(1) + self.center


def fit_recommender(user_idx, item_idx, ratings, n_users, n_items, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    dataset = torch.utils.data.TensorDataset(
        torch.as_tensor(user_idx, dtype=torch.int64), torch.as_tensor(item_idx, dtype=torch.int64),
        torch.as_tensor(ratings, dtype=torch.float32))
    loader = torch.utils.data.DataLoader(dataset, batch_size=128, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    model = EmbeddingRecommender(n_users, n_items, 16).to(device)
    model.center.fill_(float(dataset.tensors[2].mean()))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-5)
    model.train()
    for _epoch in range(80):
        for users, items, target in loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(users.to(device), items.to(device)),
                                          target.to(device))
            loss.backward()
            optimizer.step()
    return model.eval()
