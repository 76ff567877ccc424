"""Group commit: callers share a batch, each gets its own result or its own error."""

import threading


from hotspotd.store.batching import Batcher


def test_concurrent_items_share_batches_and_get_their_own_results():
    batches = []
    gate = threading.Event()

    def process(items):
        gate.wait(5)  # hold the first batch so the others queue up behind it
        batches.append(list(items))
        return [item * 10 for item in items]

    batcher = Batcher(process)
    results = {}
    threads = [threading.Thread(target=lambda n=n: results.__setitem__(n, batcher.submit(n))) for n in range(20)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(10)
    batcher.close()
    assert results == {n: n * 10 for n in range(20)}
    assert sum(len(b) for b in batches) == 20 and len(batches) < 20


def test_a_bad_item_fails_alone():
    def process(items):
        if "bad" in items:
            raise ValueError("bad item")
        return [item.upper() for item in items]

    seen = []
    batcher = Batcher(process, after_commit=seen.extend)
    outcome = {}

    def send(item):
        try:
            outcome[item] = batcher.submit(item)
        except ValueError as exc:
            outcome[item] = exc

    threads = [threading.Thread(target=send, args=(item,)) for item in ("a", "bad", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    batcher.close()
    assert outcome["a"] == "A" and outcome["b"] == "B" and outcome["c"] == "C"
    assert isinstance(outcome["bad"], ValueError)
    assert sorted(seen) == ["A", "B", "C"]


def test_after_commit_failure_does_not_fail_the_callers():
    def boom(results):
        raise RuntimeError("queue down")

    batcher = Batcher(lambda items: list(items), after_commit=boom)
    assert batcher.submit(1) == 1
    batcher.close()
