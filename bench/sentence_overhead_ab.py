"""Sentence confidences' own cost: plain ``generate`` against the wrapper with and without
the sentence detector, interleaved (9 repeats), chat style (questions as given), 8
test-split questions, batch 8, up to 128 tokens. Prints min and median seconds and their
ratios to plain::

    .venv/bin/python bench/sentence_overhead_ab.py
"""

import dataclasses
import statistics
import sys
import time

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from plain import plain_generate

from howsure.plugin.defaults import shipped_detector_for
from howsure.plugin.detector import Detector
from howsure.plugin.wrapper import wrap
from howsure.probes.models import load_model
from howsure.qa.load import load_qa

m, t = load_model(None, device="cpu")
det = Detector.load(shipped_detector_for(m), model=m, tokenizer=t)
det.reader = dataclasses.replace(det.reader, instruction="")
bare = dataclasses.replace(det)
bare.sentences = None
qs = [it.question for it in load_qa("mix", split="test", limit=8)]
with_s, without = wrap(m, t, det), wrap(m, t, bare)
fns = {
    "plain": lambda: plain_generate(m, t, det, qs, batch_size=8, max_new_tokens=128),
    "sentences": lambda: with_s.generate_batch(qs, batch_size=8, max_new_tokens=128),
    "no_sentences": lambda: without.generate_batch(qs, batch_size=8, max_new_tokens=128),
}
for f in fns.values():
    f()
times = {k: [] for k in fns}
order = list(fns)
for i in range(9):
    for k in order if i % 2 == 0 else order[::-1]:
        t0 = time.perf_counter()
        fns[k]()
        times[k].append(time.perf_counter() - t0)
for k, v in times.items():
    print(
        k,
        round(min(v), 3),
        round(statistics.median(v), 3),
        round(min(v) / min(times["plain"]), 3),
        round(statistics.median(v) / statistics.median(times["plain"]), 3),
    )
