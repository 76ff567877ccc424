"""An Africa's Talking SMS gateway simulator for the demo and the contract tests.

    sim = SmsSimulator(report_url="http://127.0.0.1:8080/api/sms/delivery/TOKEN").start()
    ... point [sms] base_url at sim.url ...
    sim.messages          # every text sent, as the gateway received it
    sim.stop()

Over HTTP: `GET /__sim__/messages`, `GET /__sim__/reports`, `POST /__sim__/failure`
`{"kind": "refuse"|"unauthorized"|"server_error"|"slow"|"none", "times": 1}`,
`POST /__sim__/delivery {"phone": "+2547...", "status": "Failed", "failure_reason":
"AbsentSubscriber"}`, `POST /__sim__/settings {"report_url": ...}`, `POST /__sim__/reset`.
"""

from .simulator import SmsSimulator

__all__ = ["SmsSimulator"]
