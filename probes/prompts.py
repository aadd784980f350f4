"""How a question becomes the chat prompt the model answers.

One place defines the prompt so that collection, training, the wrapper and the
reports all read activations from exactly the same text, and one place checks the
chat messages every entry point accepts (:func:`check_messages`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "DEFAULT_INSTRUCTION",
    "ROLES",
    "check_messages",
    "question_messages",
    "question_prompt",
    "render_chat",
]

DEFAULT_INSTRUCTION = "Reply with just the answer."
"""Appended to every question: it keeps the embedded model's answers short."""

ROLES: tuple[str, ...] = ("system", "user", "assistant")
"""The message roles a conversation may use."""


def question_messages(question: str, *, instruction: str = DEFAULT_INSTRUCTION) -> list[dict]:
    """Return the chat messages for one question.

    Parameters
    ----------
    question : str
        The question text; must not be empty or only whitespace.
    instruction : str, default ``DEFAULT_INSTRUCTION``
        Text appended after the question (empty string for none).

    Returns
    -------
    list of dict
        ``[{"role": "user", "content": ...}]``.
    """
    if not isinstance(question, str):
        raise TypeError(f"question must be a str, got {type(question).__name__}: {question!r}")
    if not question.strip():
        raise ValueError(
            f"empty question {question!r}: every question needs text for the model to answer"
        )
    content = question.strip()
    if instruction:
        content = f"{content} {instruction}"
    return [{"role": "user", "content": content}]


def check_messages(messages: Any) -> list[dict]:
    """Validate a conversation and return it as a list of plain dicts.

    Parameters
    ----------
    messages : list of dict
        ``[{"role": ..., "content": ...}, ...]``; roles from :data:`ROLES`, contents
        non-empty str.

    Returns
    -------
    list of dict
        Copies of the messages.

    Raises
    ------
    TypeError
        Not a list of dicts with ``role`` and ``content``, or a content that is not a str.
    ValueError
        An empty conversation, an unknown role (naming the allowed ones), or an empty
        content.
    """
    if not isinstance(messages, (list, tuple)):
        raise TypeError(
            "expected a question (str) or a conversation (list of {'role', 'content'} "
            f"dicts), got {type(messages).__name__}: {messages!r}"
        )
    if len(messages) == 0:
        raise ValueError(
            f"empty conversation {messages!r}: pass at least one message, e.g. "
            "[{'role': 'user', 'content': 'What is the capital of Peru?'}]"
        )
    out = []
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping) or not {"role", "content"} <= set(message):
            raise TypeError(
                f"message {i} must be a dict with 'role' and 'content', got {message!r}"
            )
        role, content = message["role"], message["content"]
        if role not in ROLES:
            raise ValueError(
                f"message {i} has role {role!r}; use one of {', '.join(map(repr, ROLES))}"
            )
        if not isinstance(content, str):
            raise TypeError(
                f"message {i} content must be a str, got {type(content).__name__}: {content!r}"
            )
        if not content.strip():
            raise ValueError(
                f"message {i} ({role!r}) has empty content {content!r}; every message needs text"
            )
        out.append(dict(message))
    return out


def render_chat(tokenizer: Any, messages: Sequence[Mapping]) -> str:
    """Render chat messages to the prompt string that ends where the answer begins.

    Uses the tokenizer's own chat template with the generation prompt added. A
    tokenizer without a chat template falls back to the plain concatenation of the
    message contents followed by a newline (documented fallback for base models).

    Parameters
    ----------
    tokenizer : transformers tokenizer
    messages : list of dict
        Chat messages with ``role`` and ``content`` (checked by :func:`check_messages`).

    Returns
    -------
    str
        The prompt text, special tokens included.
    """
    messages = check_messages(messages)
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return "\n".join(str(m["content"]) for m in messages) + "\n"


def question_prompt(
    tokenizer: Any, question: str, *, instruction: str = DEFAULT_INSTRUCTION
) -> str:
    """Return the full prompt text for ``question`` (chat template applied)."""
    return render_chat(tokenizer, question_messages(question, instruction=instruction))
