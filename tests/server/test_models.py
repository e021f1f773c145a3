"""The model catalogue (docs/server.md, "Models"): each model's parameters, as the service checks them.

Sources: the capture `reasoning-model-temperature-error` (temperature on a reasoning model); the
service's answer for an effort a model does not take ("Unsupported value: 'minimal' is not
supported with the 'gpt-5.1' model. Supported values are: 'none', 'low', 'medium', and 'high'.",
openai/openai-agents-python#2089); OpenAI's reasoning guide (gpt-5.1 defaults to `none`, which
does not reason; earlier models default to `medium` and do not take `none`; gpt-5-pro only
`high`); the Azure captures `azure-text.1` and `azure-tool-call.1` (gpt-5.1: `effort: "none"`, no
reasoning item); `openai-compaction.1` (gpt-5.2 at `none` with `top_p: 0.98`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI
from reference import reference_path

from agentkit.server import LocalServer, ServerConfig
from agentkit.server.protocol.models import (
    DEFAULT_MODELS,
    ModelCard,
    card_for,
    check_model,
    reasoning_cards,
)


def error_of(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(openai.APIStatusError) as caught:
        call()
    body = caught.value.body
    assert isinstance(body, dict)
    return caught.value.status_code, body


def test_temperature_on_a_reasoning_model_is_the_captured_400(client: OpenAI) -> None:
    captured = json.loads(
        reference_path("captures", "openai", "reasoning-model-temperature-error.json").read_text()
    )
    status, body = error_of(
        lambda: client.responses.create(model="o4-mini", input="hi", temperature=0.5)
    )
    assert status == 400
    assert body == captured["error"]


@pytest.mark.parametrize("model", ["o4-mini", "o3", "gpt-5", "gpt-5-mini", "gpt-5-pro"])
def test_top_p_on_a_reasoning_model_is_refused(client: OpenAI, model: str) -> None:
    status, body = error_of(lambda: client.responses.create(model=model, input="hi", top_p=0.5))
    assert (status, body["param"], body["code"]) == (400, "top_p", None)
    assert body["message"] == "Unsupported parameter: 'top_p' is not supported with this model."


def test_temperature_one_is_accepted_on_a_reasoning_model(client: OpenAI) -> None:
    response = client.responses.create(model="o4-mini", input="hi", temperature=1, top_p=1)
    assert response.status == "completed"


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4.1", "gpt-4o-mini", "gpt-5-chat-latest"])
def test_reasoning_on_a_chat_model_is_unsupported_parameter(client: OpenAI, model: str) -> None:
    status, body = error_of(
        lambda: client.responses.create(model=model, input="hi", reasoning={"effort": "low"})
    )
    assert status == 400
    assert body == {
        "message": "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
        "type": "invalid_request_error",
        "param": "reasoning.effort",
        "code": "unsupported_parameter",
    }


def test_a_chat_model_takes_temperature_and_a_summary_only_reasoning(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o", input="hi", temperature=0.2, top_p=0.5, reasoning={"summary": "auto"}
    )
    assert (response.temperature, response.top_p) == (0.2, 0.5)


@pytest.mark.parametrize(
    ("model", "effort", "supported"),
    [
        ("gpt-5.1", "minimal", "'none', 'low', 'medium', and 'high'"),
        ("gpt-5.1", "xhigh", "'none', 'low', 'medium', and 'high'"),
        ("gpt-5", "none", "'minimal', 'low', 'medium', and 'high'"),
        ("o4-mini", "minimal", "'low', 'medium', and 'high'"),
        ("o3", "none", "'low', 'medium', and 'high'"),
        ("gpt-5-pro", "medium", "'high'"),
    ],
)
def test_an_effort_the_model_does_not_take_is_unsupported_value(
    client: OpenAI, model: str, effort: Any, supported: str
) -> None:
    status, body = error_of(
        lambda: client.responses.create(model=model, input="hi", reasoning={"effort": effort})
    )
    assert status == 400
    assert body == {
        "message": f"Unsupported value: '{effort}' is not supported with the '{model}' model. "
        f"Supported values are: {supported}.",
        "type": "invalid_request_error",
        "param": "reasoning.effort",
        "code": "unsupported_value",
    }


@pytest.mark.parametrize("model", ["gpt-5.1", "gpt-5.2"])
def test_effort_none_is_the_default_and_gives_no_reasoning_item(client: OpenAI, model: str) -> None:
    for reasoning in ({}, {"effort": "none"}):
        response = client.responses.create(model=model, input="hi", reasoning=reasoning)  # type: ignore[arg-type]
        assert [item.type for item in response.output] == ["message"]
        assert response.reasoning is not None
        assert (response.reasoning.effort, response.reasoning.summary) == ("none", None)
        assert response.usage is not None
        assert response.usage.output_tokens_details.reasoning_tokens == 0


def test_effort_none_takes_sampling_parameters_other_efforts_do_not(client: OpenAI) -> None:
    # As `openai-compaction.1`: gpt-5.2 at effort none echoes top_p 0.98.
    response = client.responses.create(model="gpt-5.2", input="hi", top_p=0.98, temperature=0.3)
    assert (response.top_p, response.temperature) == (0.98, 0.3)
    status, body = error_of(
        lambda: client.responses.create(
            model="gpt-5.2", input="hi", top_p=0.98, reasoning={"effort": "low"}
        )
    )
    assert (status, body["param"]) == (400, "top_p")


def test_gpt_5_1_reasons_when_asked(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-5.1", input="hi", reasoning={"effort": "low"})
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.reasoning is not None
    assert response.reasoning.effort == "low"


def test_the_catalogue_is_first_match_wins() -> None:
    assert card_for("gpt-5.1-mini", DEFAULT_MODELS).default_effort == "none"
    assert card_for("gpt-5-mini", DEFAULT_MODELS).default_effort == "medium"
    assert not card_for("gpt-5-chat-latest", DEFAULT_MODELS).reasoning
    assert not card_for("my-own-model", DEFAULT_MODELS).reasoning


def test_check_model_passes_what_a_card_allows() -> None:
    card = ModelCard(("x*",), True, ("low",), "low", "never")
    check_model(card, "x", "low", 1.0, 1.0)
    with pytest.raises(Exception, match="'top_p' is not supported"):
        check_model(card, "x", None, 1.0, 0.2)


# --- a catalogue of one's own ------------------------------------------------------------------


@pytest.fixture(scope="module")
def custom() -> Iterator[OpenAI]:
    cards = (
        ModelCard(("house-thinker*",), True, ("low", "high"), "high", "never"),
        ModelCard(("*",)),
    )
    with (
        LocalServer(ServerConfig(models=cards)) as running,
        OpenAI(base_url=running.base_url, api_key="k", max_retries=0) as client,
    ):
        yield client


def test_a_configured_catalogue_replaces_the_default(custom: OpenAI) -> None:
    response = custom.responses.create(model="house-thinker-2", input="hi")
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.reasoning is not None
    assert response.reasoning.effort == "high"
    # o4-mini is an ordinary model in this catalogue.
    plain = custom.responses.create(model="o4-mini", input="hi", temperature=0.4)
    assert [item.type for item in plain.output] == ["message"]
    status, body = error_of(
        lambda: custom.responses.create(
            model="house-thinker", input="hi", reasoning={"effort": "medium"}
        )
    )
    assert (status, body["code"]) == (400, "unsupported_value")


def test_reasoning_models_patterns_make_a_catalogue_of_their_own() -> None:
    cards = reasoning_cards(("thinker*",))
    assert card_for("thinker-1", cards).reasoning
    assert not card_for("o4-mini", cards).reasoning
    assert ServerConfig(reasoning_models=("thinker*",)).catalogue() == cards
    assert ServerConfig().catalogue() == DEFAULT_MODELS
