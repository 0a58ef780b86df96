"""Optimizers: small, pure, with their state explicit.

    state = opt.init(params, xp)                       # zeros shaped like params
    updates, state = opt.update(grads, state, lr, xp, params=params)   # params_new = params + updates

``params`` and ``grads`` are arrays of one shape, typically the model's single flat parameter
buffer (every rule here is elementwise, so one vectorised expression updates every layer and
gives the same bits as per-layer updates). ``lr`` is the rate for this step; the trainer takes
it from the optimizer's ``lr`` and the schedule. ``step`` in the state counts updates applied.

Where frameworks disagree, the document's form is the default and the others are named
(see each class). Hyperparameters are checked on construction.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..errors import check_nonnegative, check_unit_interval, choose, DeepBasicsError


class GDState(NamedTuple):
    step: Any                # updates applied so far


class MomentumState(NamedTuple):
    step: Any
    velocity: Any            # v, same layout as params


class RMSPropState(NamedTuple):
    step: Any
    square_avg: Any          # s, EMA of squared gradients


class AdamState(NamedTuple):
    step: Any                # t: updates applied so far
    m: Any                   # EMA of gradients (the document's v)
    v: Any                   # EMA of squared gradients (the document's s)


class Optimizer:
    """Base: holds the base learning rate ``lr`` (the schedule's lr0) and validates it."""
    lr: float

    def __post_init__(self):
        check_nonnegative("learning rate", self.lr)

    @property
    def name(self) -> str:
        return type(self).__name__.lower()


@dataclass(frozen=True)
class GD(Optimizer):
    """Plain (mini-batch) gradient descent:  update = -lr * g.

    PyTorch: ``SGD(lr)``. Keras: ``SGD(learning_rate)``.
    """
    lr: float = 0.01

    def init(self, params, xp=np) -> GDState:
        return GDState(step=0)

    def update(self, grads, state: GDState, lr, xp=np, params=None):
        return -(lr * grads), GDState(state.step + 1)


MOMENTUM_FORMS = ("ema", "heavy_ball", "nesterov")


@dataclass(frozen=True)
class Momentum(Optimizer):
    """Gradient descent with momentum; three named forms, the document's is the default.

    form="ema" (the document):   v = beta v + (1 - beta) g;      update = -lr v
    form="heavy_ball" (PyTorch): v = beta v + g;                 update = -lr v
        = torch.optim.SGD(momentum=beta, dampening=0). The EMA form equals it with lr scaled
        by (1 - beta) (for a constant lr). Keras's v = beta v - lr g; W += v is heavy-ball with
        lr inside v (the same numbers while lr is constant).
    form="nesterov" (PyTorch):   v = beta v + g;                 update = -lr (g + beta v)
        = torch.optim.SGD(momentum=beta, nesterov=True).
    v starts at 0 (PyTorch's first-step buf = g is the same thing in these forms).
    """
    lr: float = 0.01
    beta: float = 0.9
    form: str = "ema"

    def __post_init__(self):
        super().__post_init__()
        check_unit_interval("beta", self.beta)
        if self.form not in MOMENTUM_FORMS:
            raise DeepBasicsError(f"unknown momentum form {self.form!r}; choose one of: {', '.join(MOMENTUM_FORMS)}")

    def init(self, params, xp=np) -> MomentumState:
        return MomentumState(step=0, velocity=xp.zeros_like(params))

    def update(self, grads, state: MomentumState, lr, xp=np, params=None):
        beta = self.beta
        if self.form == "ema":
            v = beta * state.velocity + (1 - beta) * grads
            step = v
        else:
            v = beta * state.velocity + grads
            step = grads + beta * v if self.form == "nesterov" else v
        return -(lr * step), MomentumState(state.step + 1, v)


@dataclass(frozen=True)
class RMSProp(Optimizer):
    """RMSProp in the document's form (epsilon outside the root):

        s = beta2 s + (1 - beta2) g*g;     update = -lr g / (sqrt(s) + eps)

    PyTorch: ``RMSprop(lr, alpha=beta2, eps=eps)`` (its default alpha is 0.99, eps 1e-8; same
    placement of eps). Keras: ``RMSprop(rho=beta2)`` puts eps inside the root, sqrt(s + eps),
    with eps 1e-7: numbers differ while s is small.
    """
    lr: float = 0.01
    beta2: float = 0.9
    eps: float = 1e-8

    def __post_init__(self):
        super().__post_init__()
        check_unit_interval("beta2", self.beta2)
        check_nonnegative("eps", self.eps)

    def init(self, params, xp=np) -> RMSPropState:
        return RMSPropState(step=0, square_avg=xp.zeros_like(params))

    def update(self, grads, state: RMSPropState, lr, xp=np, params=None):
        s = self.beta2 * state.square_avg + (1 - self.beta2) * (grads * grads)
        return -(lr * grads / (xp.sqrt(s) + self.eps)), RMSPropState(state.step + 1, s)


@dataclass(frozen=True)
class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), textbook form with bias correction, as in the document:

        t = t + 1
        m = beta1 m + (1 - beta1) g           m_hat = m / (1 - beta1**t)
        v = beta2 v + (1 - beta2) g*g         v_hat = v / (1 - beta2**t)
        update = -lr m_hat / (sqrt(v_hat) + eps)

    Defaults 0.9, 0.999, 1e-8 (the document's code; its prose also quotes eps = 1e-7).
    PyTorch ``Adam(lr, betas, eps)`` is the same formula with operations reordered (agrees to
    ~1e-15). Keras and scikit-learn fold the correction into the rate ("eps-hat" form,
    lr sqrt(1 - beta2**t) / (1 - beta1**t) m / (sqrt(v) + eps)), which differs while v is small.
    """
    lr: float = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self):
        super().__post_init__()
        check_unit_interval("beta1", self.beta1)
        check_unit_interval("beta2", self.beta2)
        check_nonnegative("eps", self.eps)

    def init(self, params, xp=np) -> AdamState:
        return AdamState(step=0, m=xp.zeros_like(params), v=xp.zeros_like(params))

    def corrected(self, state: AdamState, xp=np):
        """Bias-corrected moments (m_hat, v_hat) of a state whose ``step`` is t >= 1."""
        t = state.step
        # cast to the moments' dtype, or a float64 beta**t would make float32 math float64
        c1 = (1 - xp.power(self.beta1, t)).astype(state.m.dtype)
        c2 = (1 - xp.power(self.beta2, t)).astype(state.v.dtype)
        return state.m / c1, state.v / c2

    def update(self, grads, state: AdamState, lr, xp=np, params=None):
        m = self.beta1 * state.m + (1 - self.beta1) * grads
        v = self.beta2 * state.v + (1 - self.beta2) * (grads * grads)
        new = AdamState(state.step + 1, m, v)
        m_hat, v_hat = self.corrected(new, xp)
        return -(lr * m_hat / (xp.sqrt(v_hat) + self.eps)), new


@dataclass(frozen=True)
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), PyTorch's ``AdamW``:

        update = -lr * weight_decay * params  +  Adam's update

    The decay acts on the parameters directly, not through the gradient, so Adam's scaling does
    not weaken it (unlike an L2 penalty). Like PyTorch it decays every parameter it is given.
    Keras's ``AdamW`` is the same rule with its eps-hat Adam.
    """
    weight_decay: float = 0.01

    def __post_init__(self):
        super().__post_init__()
        check_nonnegative("weight_decay", self.weight_decay)

    def update(self, grads, state: AdamState, lr, xp=np, params=None):
        if params is None:
            raise DeepBasicsError("AdamW needs the parameters: call update(..., params=params)")
        updates, state = super().update(grads, state, lr, xp)
        return -(lr * self.weight_decay) * params + updates, state


class AdaGradState(NamedTuple):
    step: Any
    sum_squares: Any         # G, the running sum of squared gradients


@dataclass(frozen=True)
class AdaGrad(Optimizer):
    """AdaGrad (Duchi et al., 2011):  G = G + g*g;  update = -lr g / (sqrt(G) + eps).

    PyTorch: ``Adagrad(lr, eps=1e-10)`` (initial accumulator 0, no lr decay). Keras starts G at 0.1
    and puts eps 1e-7 inside the root.
    """
    lr: float = 0.01
    eps: float = 1e-10

    def __post_init__(self):
        super().__post_init__()
        check_nonnegative("eps", self.eps)

    def init(self, params, xp=np) -> AdaGradState:
        return AdaGradState(step=0, sum_squares=xp.zeros_like(params))

    def update(self, grads, state: AdaGradState, lr, xp=np, params=None):
        G = state.sum_squares + grads * grads
        return -(lr * grads / (xp.sqrt(G) + self.eps)), AdaGradState(state.step + 1, G)


OPTIMIZERS = {"gd": GD, "sgd": GD, "momentum": Momentum, "rmsprop": RMSProp, "adam": Adam, "adamw": AdamW,
              "adagrad": AdaGrad}


def get(optimizer) -> Optimizer:
    """An optimizer from its name (default hyperparameters) or an ``Optimizer`` instance."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    return choose("optimizer", optimizer, OPTIMIZERS)()
