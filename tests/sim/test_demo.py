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


def test_the_demo_router_knows_the_demo_devices_when_the_portal_asks():
    from hotspotd.router.api import Target
    from hotspotd.router.client import connect
    from hotspotd.router.hosts import HostFinder, Outcome, SiteRouter
    from hotspotd.router.pool import RouterClients
    from hotspotd.sim.demo import DEMO_DEVICE, seat_devices
    from hotspotd.sim.routeros import RouterOSSimulator

    with RouterOSSimulator() as routeros:
        seat_devices(routeros.router)
        clients = RouterClients(lambda t: connect(t, connect_timeout=2, timeout=2))
        demo_router = SiteRouter(1, "demo-router", Target(1, "demo-router", "127.0.0.1", routeros.port, "admin", ""))
        finder = HostFinder(clients.session, lambda: [demo_router], wait=2)
        try:
            linked = finder.lookup("127.0.0.1")  # the browser that opened the printed link
            assert linked.outcome == Outcome.FOUND
            assert (linked.device.mac, linked.device.address) == (DEMO_DEVICE["mac"], DEMO_DEVICE["ip"])
            other = finder.lookup("127.0.4.9").device  # another browser, another device
            assert other.mac == "AA:BB:CC:00:04:09" and other.address == "127.0.4.9"
            assert finder.lookup("127.0.4.9", fresh=True).device.mac == other.mac  # the same device next time
            assert len(routeros.router.table("/ip/hotspot/host")) == 2
        finally:
            finder.close()
            clients.close()
