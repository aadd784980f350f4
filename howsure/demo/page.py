"""The demo page (Gradio Blocks): the Chat, "How good is this number?" and Batch tabs."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from howsure.demo.app import Demo
from howsure.demo.batch import display_rows
from howsure.demo.render import PENDING, esc, esc_md
from howsure.demo.serving import gradio
from howsure.plugin.detector import Detector
from howsure.plugin.wrapper import ConfidentModel

if TYPE_CHECKING:
    import gradio as gr

__all__ = ["build_app"]

_INTRO = (
    "Ask a question: the model answers, and a linear probe on its hidden activations says "
    "how sure it is, read from the same forward pass. "
    '<span style="color:#b91c1c">red</span> below 50%, '
    '<span style="color:#b45309">amber</span> below 80%, '
    '<span style="color:#15803d">green</span> otherwise.'
)


def build_app(
    chat_or_model: ConfidentModel | Any,
    tokenizer: Any = None,
    *,
    detector: Detector | str | Path | None = None,
    report: str | Path | None = None,
    max_new_tokens: int | None = None,
    abstain_below: float | None = None,
    title: str = "howsure: how sure is the model?",
) -> gr.Blocks:
    """Build the demo page (not launched); see :class:`Demo` for the parameters.

    Parameters
    ----------
    chat_or_model, tokenizer, detector, report, max_new_tokens, abstain_below
        As :class:`Demo`.
    title : str
        Page title and heading.

    Returns
    -------
    gradio.Blocks
        With the queue set up (one generation at a time); its :class:`Demo` is
        ``app.howsure_demo``. Start it with :func:`launch`.

    Raises
    ------
    ImportError
        Gradio is not installed (``pip install 'howsure[demo]'``).
    TypeError, ValueError
        As :class:`Demo`.
    """
    gr = gradio()
    demo = Demo(
        chat_or_model,
        tokenizer,
        detector=detector,
        report=report,
        max_new_tokens=max_new_tokens,
        abstain_below=abstain_below,
    )
    with gr.Blocks(title=title, analytics_enabled=False) as app:
        gr.Markdown(f"# {esc(title)}")
        gr.Markdown(demo.header(), elem_id="howsure-header")
        _chat_tab(gr, demo)
        _report_tab(gr, demo)
        _batch_tab(gr, demo)
    app.queue(default_concurrency_limit=1)
    app.howsure_demo = demo
    return app


def _chat_tab(gr: Any, demo: Demo) -> None:
    """The Chat tab: a multi-turn conversation, the threshold slider and its mode."""
    with gr.Tab("Chat", id="chat"):
        gr.Markdown(_INTRO)
        chatbot = gr.Chatbot(
            label="Conversation",
            elem_id="howsure-chat",
            height="62vh",
            min_height=360,
            feedback_options=None,
            group_consecutive_messages=False,
            buttons=["copy", "copy_all"],
        )
        with gr.Row():
            question = gr.Textbox(
                placeholder="Ask a question, e.g. What is the capital of Peru?",
                show_label=False,
                scale=5,
                elem_id="howsure-question",
                autofocus=True,
            )
            send = gr.Button("Ask", variant="primary", scale=1, elem_id="howsure-ask")
        with gr.Row():
            slider = gr.Slider(
                0,
                100,
                value=round(demo.threshold * 100),
                step=1,
                label="Abstain below (% confidence; 0 = never)",
                interactive=demo.chat is not None,
                elem_id="howsure-threshold",
            )
            mode = gr.Radio(
                [("say I'm not sure", "replace"), ("flag the answer", "flag")],
                value="replace",
                label="Below the threshold",
                interactive=demo.chat is not None,
            )
            clear = gr.Button("New conversation", scale=0, elem_id="howsure-clear")
        shown = gr.State([])  # what the chat shows: [{"role", "content"}]
        context = gr.State([])  # the model's context: [{"role", "content"}]
        pending = gr.State("")

        def add_user(message: str, shown_: list) -> tuple:
            if not message or not message.strip():
                return gr.update(), gr.update(), shown_, shown_, ""
            new = [
                *shown_,
                {"role": "user", "content": esc_md(message.strip())},
                {"role": "assistant", "content": f"{PENDING} *waiting for the model…*"},
            ]
            # no new question until this one is answered
            locked = gr.update(interactive=False)
            return gr.update(value="", interactive=False), locked, new, new, message.strip()

        def answer(
            message: str, shown_: list, context_: list, pct: float, mode_: str
        ) -> Generator[tuple, None, None]:
            if not message:
                yield shown_, shown_, context_
                return
            base = shown_[:-1]
            try:
                for reply in demo.respond(
                    message, context_, threshold=float(pct) / 100, mode=mode_
                ):
                    new = [*base, {"role": "assistant", "content": reply.markdown}]
                    yield new, new, reply.conversation
            except ValueError as err:
                raise gr.Error(str(err)) from err

        submit_args = dict(
            fn=add_user,
            inputs=[question, shown],
            outputs=[question, send, chatbot, shown, pending],
            queue=False,
        )
        answer_args = dict(
            fn=answer,
            inputs=[pending, shown, context, slider, mode],
            outputs=[chatbot, shown, context],
            concurrency_id="howsure-model",
            show_progress="hidden",
        )
        unlock_args = dict(
            fn=lambda: (gr.update(interactive=True), gr.update(interactive=True)),
            inputs=None,
            outputs=[question, send],
            queue=False,
        )
        question.submit(**submit_args).then(**answer_args).then(**unlock_args)
        send.click(**submit_args).then(**answer_args).then(**unlock_args)
        clear.click(lambda: ([], [], []), None, [chatbot, shown, context], queue=False)
        chatbot.clear(lambda: ([], []), None, [shown, context], queue=False)


def _report_tab(gr: Any, demo: Demo) -> None:
    """The \"How good is this number?\" tab: the saved report's numbers and plots."""
    with gr.Tab("How good is this number?", id="report"):
        gr.Markdown(demo.report.markdown, elem_id="howsure-report")
        images = demo.report.images
        for start in range(0, len(images), 2):  # two a row
            with gr.Row(equal_height=True):
                for path, caption in images[start : start + 2]:
                    with gr.Column():
                        gr.Markdown(f"**{caption}**")
                        gr.Image(
                            value=str(path),
                            type="filepath",
                            show_label=False,
                            interactive=False,
                            buttons=["download", "fullscreen"],
                            format="png",
                        )
        if demo.report.html is not None:
            gr.File(value=str(demo.report.html), label="The full report (HTML)")


def _batch_tab(gr: Any, demo: Demo) -> None:
    """The Batch tab: pasted or uploaded questions, answered as a table and a CSV."""
    with gr.Tab("Batch", id="batch"):
        gr.Markdown(
            "One question per line; gold answers may follow after a tab or `|` (several "
            "separated by `|`) to check correctness. Or upload a CSV with columns "
            "`question` and optionally `answers`, or JSON Lines with the same keys."
        )
        with gr.Row():
            batch_text = gr.Textbox(
                lines=6,
                label="Questions",
                placeholder="What is the capital of Peru? | Lima\nWhat is 2 plus 2?",
                elem_id="howsure-batch-text",
                scale=3,
            )
            batch_file = gr.File(
                label="or upload .csv / .jsonl", file_types=[".csv", ".jsonl", ".json"]
            )
        run = gr.Button("Answer all", variant="primary", elem_id="howsure-batch-run")
        summary = gr.Markdown(elem_id="howsure-batch-summary")
        table = gr.Dataframe(
            label="Answers", interactive=False, wrap=True, elem_id="howsure-batch-table"
        )
        download = gr.DownloadButton("Download CSV", visible=False)

        def run_batch(text: str, file: Any) -> tuple:
            try:
                res = demo.batch(text, file)
            except ValueError as err:
                raise gr.Error(str(err)) from err
            import pandas as pd

            frame = pd.DataFrame(display_rows(res), columns=res.columns)
            widths = ["34%", "38%", "10%", "10%", "8%"] if len(res.columns) == 5 else None
            return (
                res.summary,
                gr.update(value=frame, column_widths=widths or ["40%", "45%", "15%"]),
                gr.update(value=str(res.csv_path), visible=True),
            )

        run.click(
            run_batch,
            [batch_text, batch_file],
            [summary, table, download],
            concurrency_id="howsure-model",
        )
