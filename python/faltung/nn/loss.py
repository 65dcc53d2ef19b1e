"""Loss modules: CrossEntropyLoss (softmax cross-entropy on logits, fused gradient)."""
from __future__ import annotations

from .. import functional as F
from ..functional.loss import REDUCTIONS
from .module import Module


class CrossEntropyLoss(Module):
    """loss = criterion(logits, target); criterion.backward() -> d loss / d logits."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def forward(self, logits, target):
        loss = F.cross_entropy(logits, target, self.reduction)
        self.save_for_backward(logits, target)
        return loss

    def backward(self, grad_out=1.0, input_grad: bool = True):
        logits, target = self.saved()
        return F.cross_entropy_backward(logits, target, self.reduction, grad_out)
