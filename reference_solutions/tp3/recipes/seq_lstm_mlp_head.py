"""Receta: un SeqRegressor propio con dos capas recurrentes de la celda pedida y una cabeza MLP
(lineal 64 - ReLU - lineal), LSTM de 32, Adam (lr 3e-3) con la tasa a la mitad cada 10 épocas,
minibatches de 128, 40 épocas."""

import torch
from torch import nn


class SeqRegressor(nn.Module):
    def __init__(self, input_size=1, hidden=32, n_out=10, cell="LSTM"):
        super().__init__()
        if cell == "RNN":
            self.rnn = nn.RNN(input_size, hidden, num_layers=2, batch_first=True)
        elif cell == "LSTM":
            self.rnn = nn.LSTM(input_size, hidden, num_layers=2, batch_first=True)
        elif cell == "GRU":
            self.rnn = nn.GRU(input_size, hidden, num_layers=2, batch_first=True)
        else:
            raise ValueError(f"celda desconocida: {cell}")
        self.head = nn.Sequential(nn.Linear(hidden, 64), nn.ReLU(), nn.Linear(64, n_out))

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output[:, -1, :])


def fit_seq_regressor(X, Y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)),
        batch_size=128, shuffle=True)
    model = SeqRegressor(cell="LSTM").to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
    for _epoch in range(40):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(xb.to(device)), yb.to(device))
            loss.backward()
            optimizer.step()
        scheduler.step()
    return model.eval()
