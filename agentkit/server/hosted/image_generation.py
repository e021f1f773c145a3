"""The `image_generation` hosted tool: real PNG (or JPEG, WEBP) pictures, drawn deterministically.

The service hands the prompt to a GPT image model; here `pictures.paint` draws a picture from a
hash of the prompt with Pillow, so the same prompt always gives the same bytes. The item and its
stream events follow the captures (`openai-image-generation-tool.1`,
`azure-image-generation-tool.1`); see docs/server.md, "Image generation".
"""

from __future__ import annotations

import asyncio
import base64
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from agentkit._ids import new_id
from agentkit.server.errors import invalid, invalid_type, invalid_value, unknown_parameter
from agentkit.server.hosted import Event, HostedContext, Item, register
from agentkit.server.hosted.pictures import paint, partial
from agentkit.server.protocol.items import only_fields, string_field
from agentkit.server.protocol.media import image_bytes

if TYPE_CHECKING:
    from agentkit.server.plan import Hosted, Planned, Turn

TYPE = "image_generation"
STANDARD_SIZES = ("1024x1024", "1024x1536", "1536x1024")
CHOICES: dict[str, tuple[str, ...]] = {
    "quality": ("low", "medium", "high", "auto"),
    "output_format": ("png", "webp", "jpeg"),
    "moderation": ("auto", "low"),
    "background": ("transparent", "opaque", "auto"),
    "action": ("generate", "edit", "auto"),
    "input_fidelity": ("high", "low"),
}
DEFAULTS: dict[str, Any] = {
    "background": "auto",
    "moderation": "auto",
    "n": 1,
    "output_compression": 100,
    "output_format": "png",
    "quality": "auto",
    "size": "auto",
}
"""What the service echoes for a tool's omitted fields (the captures' `tools`)."""
FIELDS = frozenset(
    {"type", "model", "partial_images", "output_compression", "size", "input_image_mask",
     *CHOICES}
)  # fmt: skip

GENERATING = "response.image_generation_call.generating"
_WORD = re.compile(r"[a-z]+")
DRAW_WORDS = frozenset({"draw", "paint", "sketch", "illustrate"})
MAKE_WORDS = frozenset({"generate", "create", "make", "render", "design", "produce"})
PICTURE_WORDS = frozenset(
    {"image", "images", "picture", "pictures", "drawing", "illustration", "photo", "painting",
     "logo", "icon", "poster", "artwork", "sketch", "wallpaper"}
)  # fmt: skip
WIDE_WORDS = frozenset({"landscape", "wide", "panorama", "panoramic", "banner"})
TALL_WORDS = frozenset({"portrait", "tall", "vertical"})
_REQUEST = re.compile(
    r"^\s*(?:please\s+)?(?:(?:can|could|would)\s+you\s+)?(?:please\s+)?"
    r"(?:generate|create|draw|make|paint|render|sketch|design|produce|illustrate)\s+(?:me\s+)?"
    r"(?:(?:(?:an?|the|some)\s+)?(?:[\w-]+\s+){0,2}?"
    r"(?:image|picture|drawing|illustration|photo|painting|sketch|artwork|logo|icon|poster)s?"
    r"\s+(?:of\s+)?)?",
    re.IGNORECASE,
)

_PARTIALS: OrderedDict[str, int] = OrderedDict()
"""How many partial images each recent item streams (the item itself cannot say)."""
_PARTIALS_KEPT = 1024
_PARTIALS_LOCK = threading.Lock()


def asks_for_picture(text: str) -> bool:
    """The `auto` engine's rule: a drawing verb, or a making verb followed by a picture noun."""
    words = _WORD.findall(text.lower())
    if DRAW_WORDS & set(words):
        return True
    for index, word in enumerate(words):
        if word in MAKE_WORDS and PICTURE_WORDS & set(words[index + 1 :]):
            return True
    return False


def revised_prompt(prompt: str) -> str:
    """The prompt without its request words ("Generate an image of"), capitalised."""
    subject = _REQUEST.sub("", prompt, count=1).strip().rstrip(".!?").strip() or prompt.strip()
    return subject[:1].upper() + subject[1:]


class ImageGenerationTool:
    """Draws a picture for a prompt; see the module docstring."""

    type = TYPE

    def __init__(self) -> None:
        self.input_items: Mapping[str, Callable[[dict[str, Any], str], Item]] = {
            "image_generation_call": _call_input
        }

    def parse_config(self, value: dict[str, Any], param: str) -> dict[str, Any]:
        for name in value:
            if name not in FIELDS:
                raise unknown_parameter(f"{param}.{name}")
        config = {k: v for k, v in value.items() if v is not None}
        for name, allowed in CHOICES.items():
            if name in config and config[name] not in allowed:
                raise invalid_value(f"{param}.{name}", config[name], list(allowed))
        for name, high in (("partial_images", 3), ("output_compression", 100)):
            if name in config:
                _integer(config[name], f"{param}.{name}", high)
        if "model" in config and not isinstance(config["model"], str):
            raise invalid_type(f"{param}.model", "a string", config["model"])
        if "size" in config:
            _check_size(config["size"], str(config.get("model", "")), f"{param}.size")
        if config.get("background") == "transparent" and config.get("output_format") == "jpeg":
            raise invalid(
                f"Invalid '{param}.background': a transparent background needs output_format "
                "'png' or 'webp', not 'jpeg'.",
                f"{param}.background",
                "invalid_value",
            )
        echoed = {**DEFAULTS, **{k: v for k, v in config.items() if k != "type"}}
        return {"type": TYPE, **dict(sorted(echoed.items()))}

    def check_context(self, stored: list[Item], new: list[Item]) -> None:
        return None

    async def before_model(self, ctx: HostedContext) -> list[Item]:
        return []

    def auto_steps(self, turn: Turn, text: str) -> list[Planned]:
        from agentkit.server.plan import Hosted

        if turn.request.tool_choice == "none" or not asks_for_picture(text):
            return []
        return [Hosted(TYPE, options={"prompt": text})]

    async def execute(self, step: Hosted, ctx: HostedContext) -> list[Item]:
        config = next(t for t in ctx.request.tools if t["type"] == TYPE)
        prompt = str(step.options.get("prompt") or "")
        if not prompt:
            raise invalid("An image_generation call needs a non-empty 'prompt'.", "tools")
        size = _resolve_size(config["size"], prompt)
        width, height = (int(n) for n in size.split("x"))
        background = "transparent" if config["background"] == "transparent" else "opaque"
        references = _reference_images(ctx.items, ctx.services)
        item_id = new_id("ig")
        started = {"id": item_id, "type": "image_generation_call", "result": None}
        await ctx.stream(_events(ctx.index, started), until=GENERATING)
        picture = await asyncio.to_thread(
            paint,
            prompt,
            (width, height),
            output_format=config["output_format"],
            transparent=background == "transparent",
            compression=config["output_compression"],
            references=references,
        )
        item: Item = {
            "id": item_id,
            "type": "image_generation_call",
            "status": _final_status(ctx),
            "background": background,
            "output_format": config["output_format"],
            "quality": "medium" if config["quality"] == "auto" else config["quality"],
            "result": base64.b64encode(picture).decode(),
            "revised_prompt": str(step.options.get("revised_prompt") or revised_prompt(prompt)),
            "size": size,
        }
        _remember_partials(item["id"], int(config.get("partial_images", 0)))
        await ctx.stream(_events(ctx.index, item), after=GENERATING)
        return [item]

    def events(self, index: int, item: Item, obfuscate: bool) -> Iterator[Event] | None:
        if item["type"] != "image_generation_call":
            return None
        return _events(index, item)

    def summarise(self, item: Item) -> str | None:
        if item["type"] != "image_generation_call" or not item.get("result"):
            return None
        made = f"a {item.get('size', '')} {str(item.get('output_format', 'png')).upper()} image"
        return (
            f'image_generation made {" ".join(made.split())} of "{item.get("revised_prompt", "")}"'
        )


def _integer(value: Any, param: str, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(param, "an integer", value)
    if not 0 <= value <= high:
        raise invalid(
            f"Invalid '{param}': {value} is out of range; it must be between 0 and {high}.",
            param,
            "invalid_value",
        )


def _check_size(size: Any, model: str, param: str) -> None:
    if not isinstance(size, str):
        raise invalid_type(param, "a string", size)
    if size == "auto" or size in STANDARD_SIZES:
        return
    match = re.fullmatch(r"(\d{2,4})x(\d{2,4})", size)
    if model.startswith("gpt-image-2") and match:
        width, height = int(match.group(1)), int(match.group(2))
        if (
            width % 16 == 0
            and height % 16 == 0
            and 1 / 3 <= width / height <= 3
            and width * height <= 3840 * 2160
        ):
            return
    raise invalid_value(param, size, [*STANDARD_SIZES, "auto"])


def _resolve_size(size: str, prompt: str) -> str:
    """`auto` by the prompt's words: wide → 1536x1024, tall → 1024x1536, else square."""
    if size != "auto":
        return size
    words = set(_WORD.findall(prompt.lower()))
    if words & WIDE_WORDS:
        return "1536x1024"
    if words & TALL_WORDS:
        return "1024x1536"
    return "1024x1024"


def _reference_images(items: list[Item], services: Mapping[str, Any]) -> tuple[bytes, ...]:
    """The images of the latest user message: drawn into the picture as thumbnails."""
    for item in reversed(items):
        if item["type"] == "message" and item.get("role") == "user":
            content = item.get("content")
            parts = content if isinstance(content, list) else []
            found = (image_bytes(p, services) for p in parts if p.get("type") == "input_image")
            return tuple(data for data in found if data is not None)
    return ()


def _remember_partials(item_id: str, count: int) -> None:
    with _PARTIALS_LOCK:
        _PARTIALS[item_id] = count
        if len(_PARTIALS) > _PARTIALS_KEPT:
            _PARTIALS.popitem(last=False)


def _final_status(ctx: HostedContext) -> str:
    """`completed`; in a stream in Azure mode `generating`, as Azure's stream ends the item
    (capture `azure-image-generation-tool.1`; its JSON answer says `completed`)."""
    return "generating" if ctx.services.get("azure") and ctx.request.stream else "completed"


def _events(index: int, item: Item) -> Iterator[Event]:
    where = {"output_index": index, "item_id": item["id"]}
    # As the captures: no `result` here, though the spec requires one (null until drawn).
    added = {"id": item["id"], "type": item["type"], "status": "in_progress"}
    yield {"type": "response.output_item.added", "output_index": index, "item": added}
    yield {"type": "response.image_generation_call.in_progress", **where}
    yield {"type": "response.image_generation_call.generating", **where}
    with _PARTIALS_LOCK:
        count = _PARTIALS.get(item["id"], 0)
    if item.get("result") and count:
        final = base64.b64decode(item["result"])
        for number in range(count):
            picture = partial(final, number, count, item.get("output_format", "png"))
            yield {
                "type": "response.image_generation_call.partial_image",
                **where,
                "partial_image_index": number,
                "partial_image_b64": base64.b64encode(picture).decode(),
                **{
                    k: item[k]
                    for k in ("size", "quality", "background", "output_format")
                    if k in item
                },
            }
    if item.get("status") != "generating":  # Azure's stream has no `.completed` event
        yield {"type": "response.image_generation_call.completed", **where}
    yield {"type": "response.output_item.done", "output_index": index, "item": item}


CALL_FIELDS = (
    "type", "id", "status", "result", "revised_prompt", "background", "output_format", "quality",
    "size", "action", "error",
)  # fmt: skip


def _call_input(value: dict[str, Any], param: str) -> Item:
    """An `image_generation_call` sent back as input (stateless chaining replays it by value)."""
    only_fields(value, param, CALL_FIELDS)
    for name in ("id", "status"):
        string_field(value, name, param)
    string_field(value, "result", param, required=False)
    item = {name: value[name] for name in CALL_FIELDS if name in value}
    item.setdefault("result", None)
    return item


register(ImageGenerationTool())
