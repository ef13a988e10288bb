"""Test double of the graph's Trigger services whose first answer is late: what a lost DDS response looks like
to the caller (Fast DDS drops one when the server has not yet matched the client's reply reader; that cannot be
provoked on purpose). Run as its own process; prints one line per request it receives.

The first request to each service is held for ``HOLD_S`` wall seconds (or until the process stops) before it is
answered; later ones are answered at once, with the refusal the real node gives when the first one was done.
"""

from __future__ import annotations

import threading

import rclpy
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from std_srvs.srv import Trigger

HOLD_S = 20.0
#: service -> (answer to the first request, answer to the later ones)
ANSWERS = {
    '/policy_node/reset': ((True, 'new episode'), (True, 'new episode')),
    '/world_node/reset': ((True, 'seed 5001'), (True, 'seed 5002')),
    '/recorder/start_episode': ((True, 'recording episode 0'),
                                (False, 'episode 0 is still in progress: save or discard it first')),
}


class LateFirstAnswerDouble(Node):
    def __init__(self, stop: threading.Event) -> None:
        super().__init__('late_first_answer_double')
        self.stop, self.count = stop, {name: 0 for name in ANSWERS}
        group = ReentrantCallbackGroup()
        for name in ANSWERS:
            self.create_service(Trigger, name, lambda req, resp, n=name: self.answer(n, resp), callback_group=group)

    def answer(self, name: str, resp: Trigger.Response) -> Trigger.Response:
        self.count[name] += 1
        n = self.count[name]
        print(f'request {n} to {name}', flush=True)
        if n == 1:
            self.stop.wait(HOLD_S)
        resp.success, resp.message = ANSWERS[name][0 if n == 1 else 1]
        return resp


def main() -> None:
    rclpy.init()
    stop = threading.Event()
    node = LateFirstAnswerDouble(stop)
    executor = MultiThreadedExecutor(num_threads=4)
    executor.add_node(node)
    print('services up', flush=True)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        stop.set()
        executor.shutdown(timeout_sec=2.0)
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
