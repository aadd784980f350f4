"""How a question becomes the chat prompt the model answers.

One place defines the prompt so that collection, training, the wrapper and the
reports all read activations from exactly the same text.
"""

from __future__ import annotations

from typing import Any

DEFAULT_INSTRUCTION = "Reply with just the answer."
"""Appended to every question: it keeps the embedded model's answers short."""


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


def render_chat(tokenizer: Any, messages: list[dict]) -> str:
    """Render chat messages to the prompt string that ends where the answer begins.

    Uses the tokenizer's own chat template with the generation prompt added. A
    tokenizer without a chat template falls back to the plain concatenation of the
    message contents followed by a newline (documented fallback for base models).

    Parameters
    ----------
    tokenizer : transformers tokenizer
    messages : list of dict
        Chat messages with ``role`` and ``content``.

    Returns
    -------
    str
        The prompt text, special tokens included.
    """
    if not messages:
        raise ValueError("empty conversation: pass at least one message")
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return "\n".join(str(m["content"]) for m in messages) + "\n"


def question_prompt(
    tokenizer: Any, question: str, *, instruction: str = DEFAULT_INSTRUCTION
) -> str:
    """Return the full prompt text for ``question`` (chat template applied)."""
    return render_chat(tokenizer, question_messages(question, instruction=instruction))
