"""The module tree of test/adapter/models.ts denseMlp() in PyTorch, for the peft scripts:
fc1 Linear(12,16) -> relu -> fc2 Linear(16,8) -> head Linear(8,4) (peft keys base_model.model.<fc1|fc2|head>.*).
"""
import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(12, 16)
        self.fc2 = torch.nn.Linear(16, 8)
        self.head = torch.nn.Linear(8, 4)

    def forward(self, x):
        return self.head(self.fc2(torch.relu(self.fc1(x))))
