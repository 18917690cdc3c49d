"""scheduler: a Richards-style operating-system simulation. Task objects of
four kinds (idle, worker, handler, device) pass packets through queues under
a priority scheduler. Object-oriented: method calls, attribute reads and
writes, small linked lists; little arithmetic.

run(n) lets the idle task run n times (each run may release a device, which
sets the other tasks going); the hot line runs once per idle run, n times.
"""

IDLE, WORKER, HANDLER_A, HANDLER_B, DEVICE_A, DEVICE_B = range(6)
WORK, DEVICE = 0, 1             # packet kinds
DATA_SIZE = 4


class Packet:
    __slots__ = ("link", "owner", "kind", "index", "data")

    def __init__(self, link, owner, kind):
        self.link = link
        self.owner = owner      # the task it goes back to
        self.kind = kind
        self.index = 0
        self.data = [0] * DATA_SIZE

    def append_to(self, queue):
        """Appends this packet (alone) to the queue `queue`; returns the queue."""
        self.link = None
        if queue is None:
            return self
        last = queue
        while last.link is not None:
            last = last.link
        last.link = self
        return queue


class Task:
    """A task: a priority, a queue of packets, and three flags. It can run
    when it is not held and either has a packet or is not waiting for one."""

    def __init__(self, sched, ident, priority, queue):
        self.sched = sched
        self.ident = ident
        self.priority = priority
        self.queue = queue
        self.held = False
        self.waiting = queue is None
        self.link = None

    def runnable(self):
        return not self.held and (self.queue is not None or not self.waiting)

    def take(self):
        """Removes and returns the first queued packet, or None."""
        p = self.queue
        if p is not None:
            self.queue = p.link
        return p

    def step(self, packet):
        raise NotImplementedError


class IdleTask(Task):
    def __init__(self, sched, ident, priority, count):
        super().__init__(sched, ident, priority, None)
        self.waiting = False
        self.seed = 1
        self.count = count

    def step(self, packet):
        self.count -= 1  # hot
        if self.count == 0:
            return self.sched.hold_self()
        if self.seed & 1 == 0:
            self.seed >>= 1
            return self.sched.release(DEVICE_A)
        self.seed = (self.seed >> 1) ^ 0xD008
        return self.sched.release(DEVICE_B)


class WorkerTask(Task):
    def __init__(self, sched, ident, priority, queue):
        super().__init__(sched, ident, priority, queue)
        self.dest = HANDLER_A
        self.letter = 0

    def step(self, packet):
        if packet is None:
            return self.sched.wait()
        self.dest = HANDLER_B if self.dest == HANDLER_A else HANDLER_A
        packet.owner = self.dest
        packet.index = 0
        for i in range(DATA_SIZE):
            self.letter = self.letter + 1 if self.letter < 26 else 1
            packet.data[i] = self.letter
        return self.sched.send(packet, self.dest)


class HandlerTask(Task):
    def __init__(self, sched, ident, priority, queue, device):
        super().__init__(sched, ident, priority, queue)
        self.device = device
        self.work = None        # work packets waiting for characters to go out
        self.devices = None     # device packets waiting for a character

    def step(self, packet):
        if packet is not None:
            if packet.kind == WORK:
                self.work = packet.append_to(self.work)
            else:
                self.devices = packet.append_to(self.devices)
        if self.work is not None:
            w = self.work
            if w.index >= DATA_SIZE:
                self.work = w.link
                return self.sched.send(w, WORKER)
            if self.devices is not None:
                d = self.devices
                self.devices = d.link
                d.index = w.data[w.index]
                w.index += 1
                return self.sched.send(d, self.device)
        return self.sched.wait()


class DeviceTask(Task):
    def __init__(self, sched, ident, priority):
        super().__init__(sched, ident, priority, None)
        self.pending = None

    def step(self, packet):
        if packet is None:
            if self.pending is None:
                return self.sched.wait()
            p, self.pending = self.pending, None
            return self.sched.send(p, p.owner)
        self.pending = packet
        self.sched.output += packet.index
        return self.sched.hold_self()


class Scheduler:
    def __init__(self):
        self.tasks = [None] * 6
        self.current = None
        self.output = 0         # a checksum of the characters "printed"
        self.switches = 0

    def add(self, task):
        self.tasks[task.ident] = task

    def by_priority(self):
        return sorted((t for t in self.tasks if t is not None), key=lambda t: -t.priority)

    def run(self):
        order = self.by_priority()
        task = order[0]
        while task is not None:
            if task.runnable():
                self.current = task
                packet = task.take() if task.queue is not None else None
                if packet is None or task.waiting:
                    task.waiting = False
                nxt = task.step(packet)
                self.switches += 1
                task = nxt if nxt is not None else self.next_runnable(order)
            else:
                task = self.next_runnable(order)
        return self.output, self.switches

    @staticmethod
    def next_runnable(order):
        for t in order:
            if t.runnable():
                return t
        return None

    # Task requests: each returns the task to run next, or None for "the
    # highest-priority runnable one".
    def hold_self(self):
        self.current.held = True
        return None

    def release(self, ident):
        t = self.tasks[ident]
        t.held = False
        return t if t.priority > self.current.priority else self.current

    def wait(self):
        self.current.waiting = True
        return None

    def send(self, packet, ident):
        t = self.tasks[ident]
        packet.link = None
        t.queue = packet.append_to(t.queue)
        if t.priority > self.current.priority and not t.held:
            return t
        return self.current


def run(n):
    s = Scheduler()
    s.add(IdleTask(s, IDLE, 0, n))
    work = Packet(None, WORKER, WORK)
    work = Packet(work, WORKER, WORK)
    s.add(WorkerTask(s, WORKER, 1000, work))
    for ident, dev, prio in ((HANDLER_A, DEVICE_A, 2000), (HANDLER_B, DEVICE_B, 3000)):
        q = Packet(None, ident, DEVICE)
        q = Packet(q, ident, DEVICE)
        q = Packet(q, ident, DEVICE)
        s.add(HandlerTask(s, ident, prio, q, dev))
    s.add(DeviceTask(s, DEVICE_A, 4000))
    s.add(DeviceTask(s, DEVICE_B, 5000))
    for t in s.tasks[HANDLER_A:DEVICE_A]:
        t.waiting = False       # handlers start with device packets and run
    s.tasks[WORKER].waiting = False
    return s.run()


def expected_hot(n):
    return n
