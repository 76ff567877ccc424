"""`hotspotd demo` says what it does with an earlier demo's state, and --fresh starts anew."""

from hotspotd.sim.demo import prepare_state


def test_a_second_demo_says_it_reuses_the_state_and_fresh_starts_anew(tmp_path):
    state = tmp_path / "demo"
    assert "new demo site" in prepare_state(state, fresh=False)
    (state / "hotspotd.db").write_bytes(b"an earlier demo")
    note = prepare_state(state, fresh=False)
    assert "reusing" in note and "--fresh" in note and (state / "hotspotd.db").exists()
    assert "afresh" in prepare_state(state, fresh=True)
    assert not (state / "hotspotd.db").exists() and state.is_dir()
    assert state.stat().st_mode & 0o077 == 0  # its secrets are the operator's alone
