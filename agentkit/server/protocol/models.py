"""The model catalogue: what each model accepts, by name pattern, and the service's 400s for the rest.

One table instead of checks scattered over the request parser (docs/server.md, "Models"). The
first card whose pattern matches a request's `model` (only `*` is special) decides:

- whether the model reasons (a `reasoning` item before its output) and which `reasoning.effort`
  values it accepts, with its default;
- whether it takes `temperature` and `top_p` other than 1: never for reasoning models, except
  those that accept `effort: "none"` while reasoning is off (OpenAI's gpt-5.1 and gpt-5.2).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from agentkit.server.errors import APIError, invalid, listed
from agentkit.server.protocol.azure import deployment_model
from agentkit.server.protocol.validation import CreateRequest

EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
Sampling = Literal["always", "never", "without_reasoning"]


@dataclass(frozen=True)
class ModelCard:
    """What the models whose names match `patterns` accept."""

    patterns: tuple[str, ...]
    reasoning: bool = False
    efforts: tuple[str, ...] = ()
    """The `reasoning.effort` values accepted (a reasoning model); others are a 400."""
    default_effort: str | None = None
    sampling: Sampling = "always"
    """When `temperature` and `top_p` other than 1 are accepted."""

    def effort(self, asked: str | None) -> str | None:
        """The effort a response runs at (None: the model does not reason)."""
        return (asked or self.default_effort) if self.reasoning else None

    def thinks(self, asked: str | None) -> bool:
        """Whether a response at this effort starts with a reasoning item."""
        return self.effort(asked) not in (None, "none")


NOT_REASONING = ModelCard(("*",))
DEFAULT_MODELS: tuple[ModelCard, ...] = (
    ModelCard(("gpt-5-chat*",)),
    ModelCard(("gpt-5-pro*",), True, ("high",), "high", "never"),
    ModelCard(("gpt-5.1*",), True, ("none", "low", "medium", "high"), "none", "without_reasoning"),
    ModelCard(("gpt-5.2*",), True, EFFORTS[:1] + EFFORTS[2:], "none", "without_reasoning"),
    ModelCard(("gpt-5*",), True, ("minimal", "low", "medium", "high"), "medium", "never"),
    ModelCard(("o1*", "o3*", "o4*"), True, ("low", "medium", "high"), "medium", "never"),
    NOT_REASONING,
)
"""OpenAI's published rules, newest families first; anything else is a plain chat model."""


def reasoning_cards(patterns: Sequence[str]) -> tuple[ModelCard, ...]:
    """A catalogue where exactly `patterns` reason, taking any effort (`--reasoning-models`)."""
    cards = [ModelCard((p,), True, EFFORTS, "medium", "without_reasoning") for p in patterns]
    return (*cards, NOT_REASONING)


def card_for(model: str, catalogue: Sequence[ModelCard]) -> ModelCard:
    """The first card matching `model` (a plain chat model when none does)."""
    for card in catalogue:
        if any(_glob(pattern).fullmatch(model) for pattern in card.patterns):
            return card
    return NOT_REASONING


@functools.lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def check_model(
    card: ModelCard, model: str, effort: str | None, temperature: float, top_p: float
) -> None:
    """The service's 400 for a parameter this model does not take."""
    if effort is not None and not card.reasoning:
        raise APIError(
            400,
            "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
            param="reasoning.effort",
            code="unsupported_parameter",
        )
    if effort is not None and effort not in card.efforts:
        raise invalid(
            f"Unsupported value: '{effort}' is not supported with the '{model}' model. "
            f"Supported values are: {listed(list(card.efforts))}.",
            "reasoning.effort",
            "unsupported_value",
        )
    sampling = card.sampling == "always" or (
        card.sampling == "without_reasoning" and not card.thinks(effort)
    )
    for name, value in (("temperature", temperature), ("top_p", top_p)):
        if value != 1 and not sampling:
            # As in the capture `reasoning-model-temperature-error` (`code: null`).
            raise invalid(
                f"Unsupported parameter: '{name}' is not supported with this model.", name
            )


def resolve_model(
    request: CreateRequest, catalogue: Sequence[ModelCard], deployments: Mapping[str, str]
) -> ModelCard:
    """Check a request against its model's card (after mapping an Azure deployment to its
    model, which the response then names, as Azure's do); the card it runs under."""
    request.model = deployment_model(request.model, deployments)
    card = card_for(request.model, catalogue)
    check_model(card, request.model, request.reasoning_effort, request.temperature, request.top_p)
    return card
