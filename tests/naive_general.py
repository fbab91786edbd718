"""A slow, obviously-correct twin of one night with dependencies, deadlines, slots, named locks,
capacity over the night and the four scheduling policies (issues 12 and 13).

Written from the issue texts and in the style of tests/naive.py, without looking at the kernel:
plain lists, the waiting jobs re-sorted before every decision, the running jobs a plain list,
sums with ``math.fsum``. With no dependencies, no deadlines, slots 1, no locks, constant capacity
and policy ``tutorial`` it gives exactly what ``naive.naive_night`` gives (tested in
tests/test_naive_general.py).

The model, precisely (every line marked CHOICE is where the issues are silent or ambiguous; the
kernel has to make the same choice to agree replication by replication):

Times and readiness
- Job j's ready time is ``max(arrival_j, latest finish of its predecessors)`` (finish-to-start).
  It is known once every predecessor has been retired. wait_j = start_j - ready_j; dependency
  delay_j = ready_j - arrival_j.
- Event times are exactly: the finish time of a running job, the (known) ready time of a job not
  yet released, and every capacity change minute > 0 (CHOICE: a change is an event even when the
  size does not change or nothing waits; it matters only for ``backfill``, whose decisions depend
  on "now" through the planned finishes). The arrival of a job whose predecessors have not all
  finished is NOT an event (CHOICE), nor is any planned finish (start + estimated runtime).
- At an event time t: retire every running job with finish <= t; the pool size becomes the
  capacity at t; release every job whose ready time is <= t, in (ready, job_id) order; dispatch
  by the policy. The night ends when every job has finished (capacity changes after that are not
  visited).
- Queue length = number of released (ready) jobs not started. average_queue_length and
  max_queue_length are measured exactly as in naive.py, over all events above.

Capacity
- ``workers`` is an int (constant pool) or a step function ``[(0, size0), (m1, size1), ...]``:
  minutes after the batch start, strictly increasing, the first one 0, sizes >= 0; the pool has
  size_i workers on [m_i, m_{i+1}). The last size must be >= 1 and >= the largest slots.
- busy = sum of workers_used of the running jobs; free = capacity(t) - busy (negative when the
  pool shrank below what is busy: then nothing can start). Running jobs are never stopped.
- A non-exclusive job j "fits" at t when no exclusive job runs, free >= slots_j and none of its
  locks is held by a running job. It uses slots_j workers.
- An exclusive job "fits" at t when nothing runs and capacity(t) >= max(1, slots_j) (CHOICE: an
  exclusive job's slots count as a minimum pool size; with the default slots 1 this is
  "capacity >= 1"). It uses capacity(t) workers for its whole run, even if the pool grows or
  shrinks meanwhile (CHOICE); nothing else starts while it runs.

Policies (order_p = (priority desc, ready asc, job_id asc); order_f = (ready asc, job_id asc);
job_id compared as Python strings, i.e. by code point, like naive.py)
- tutorial: repeat: sort by order_p; stop if busy >= capacity; stop if an exclusive job runs; if
  any exclusive job waits: stop if anything runs, else start the first exclusive job in order if
  capacity >= max(1, slots), else stop. Otherwise skip the waiting jobs whose lock is held; the
  first remaining one starts if its slots fit, else stop.
- priority / fifo: repeat: sort by order_p / order_f; the first waiting job (the head) starts if
  it fits, else stop (a head blocked by a held lock, by its slots or by waiting for the pool to
  drain blocks everything behind it).
- backfill (EASY): repeat: sort by order_p; the head is the first waiting job whose locks are not
  held (CHOICE: lock-blocked jobs are skipped, get no reservation and are not counted as head);
  stop if there is none or an exclusive job runs; if the head fits, start it and repeat. Else:
  * planned finish of a running job k: max(start_k + estimated_runtime_k, t); k counts as still
    running at time T when its planned finish > T.
  * the reservation R is the smallest T in {t} U {planned finishes > t} U {capacity change
    minutes > t} with capacity(T) - (slots of the jobs still running at T) >= slots_head; for an
    exclusive head, the smallest such T at which no job is still running and capacity(T) >=
    max(1, slots_head) (CHOICE). Surplus S = capacity(R) - still running at R - slots_head
    (CHOICE: 0 for an exclusive head).
  * candidates: the next ``backfill_depth`` jobs after the head in order_p (lock-blocked ones
    included: they count towards the depth and fail "fits", CHOICE). In order, a candidate c that
    fits now starts if t + estimated_runtime_c <= R, or else if c is not exclusive, slots_c <= S
    and c shares no lock with the head (CHOICE: otherwise a surplus job could hold the head's
    lock at R); then S -= slots_c. One pass per event: after the pass, dispatch stops.
  The twin logs every reservation (t, head, R, S) and the head at every event, so tests can check
  that with exact estimates a head that stays the head never starts after its reservation.

Critical chain (issue 12), ``chain_rule="issue"`` (default, the literal reading)
- Start at the job with the largest finish (ties: smallest job_id). From job j:
  1. if some predecessor's finish equals ready_j (i.e. the latest predecessor finish >= arrival_j;
     CHOICE: a tie with the arrival goes to the predecessor), go to that predecessor (ties:
     smallest job_id);
  2. else, if start_j > ready_j: go to "the job whose finish freed the workers j started on",
     DEFINED as a job retired at the very event at which j started (finish == start_j exactly;
     ties: smallest job_id). If no job finished at start_j (j started because the pool grew, or
     because a backfill decision changed at another job's arrival), stop (CHOICE);
  3. else stop (j started at its own arrival).
- ``chain_rule="binding"`` (offered as the alternative a demanding user may prefer; see the
  report): follow what actually set the start: if start_j > ready_j use rule 2 (stop if none),
  else rule 1, else stop. It differs from "issue" only when a job's ready time was set by a
  predecessor and it then still waited for workers.

Re-forecast from now (issue 15; ``now`` given)
- Each job has a status: queued, running or completed, and the facts started / finished
  (minutes after the batch start). ``window`` is each job's planned arrival (its requested
  window); ``arrival`` is the drawn one (window + jitter).
- A queued job whose window is before now (strictly) arrives at its window (no jitter); any
  other queued job at its drawn arrival. Its ready time, as always, is max(arrival, latest
  predecessor finish).
- A started job (running or completed) is not released by its predecessors: its ready time is
  min(start, max(window, finish of each predecessor, a predecessor that is not completed
  counting as +infinity)) (CHOICE: facts win; a job started before its predecessors finished
  was ready at its start), its arrival min(window, ready). A completed job without a start
  started at min(finish, max(window, finish of its predecessors as above)) (CHOICE). It starts
  at its fact whatever the policy, the pool, locks or exclusivity (an event), holding its slots
  (an exclusive job: the pool at its start); a completed job finishes at its fact, a running
  job at start + its given runtime (the drawn total).
- ``now`` is an event; no job is dispatched by the policy before now. Events, releases and
  the metrics are as above over the whole night (the queue before now included).
- At an event t: retire; pool size; release; start the started jobs whose start is <= t
  (all = t), in (start, index) order; then, if t >= now, dispatch.
- Chain: unchanged (a predecessor whose finish equals the ready time, else the freeing job);
  for a started job only predecessors that finished by its ready time can equal it anyway.

Metrics
- The eight metrics of naive.py, with wait = start - ready; worker_utilization = busy
  worker-minutes within the available capacity up to the horizon over capacity-minutes up to the
  horizon (0 when there are no capacity-minutes, CHOICE); ``worker_minutes_above_capacity`` =
  worker-minutes run above a shrunken pool, up to the horizon (CHOICE: so that within + above =
  all busy worker-minutes before the horizon).
- late_j = finish_j > deadline_j (deadline default: the horizon); ``late_jobs`` = their number.
"""

from __future__ import annotations

import math

from naive import METRICS

POLICIES = ("tutorial", "priority", "fifo", "backfill")
CHAIN_RULES = ("issue", "binding")


def capacity_steps(workers):
    """Normalise ``workers`` (int or [(minute, size), ...]) to a checked list of steps."""
    if isinstance(workers, (list, tuple)):
        steps = [(float(m), int(s)) for m, s in workers]
    else:
        steps = [(0.0, int(workers))]
    if not steps or steps[0][0] != 0.0:
        raise ValueError(f"capacity must start at minute 0: {steps!r}")
    for (m0, _), (m1, _) in zip(steps, steps[1:]):
        if not m1 > m0:
            raise ValueError(f"capacity minutes must increase: {steps!r}")
    if any(s < 0 for _, s in steps):
        raise ValueError(f"capacity below 0: {steps!r}")
    return steps


def capacity_at(steps, t):
    """Pool size at time t: the size of the last step whose minute is <= t."""
    size = steps[0][1]
    for m, s in steps:
        if m <= t:
            size = s
    return size


def _predecessor_lists(depends_on, job_id):
    """depends_on: per job a list of predecessors, each an int (index) or a str (job_id)."""
    n = len(job_id)
    if depends_on is None:
        return [[] for _ in range(n)]
    index_of = {jid: i for i, jid in enumerate(job_id)}
    preds = []
    for j, deps in enumerate(depends_on):
        lst = []
        for d in deps or ():
            p = index_of.get(d, -1) if isinstance(d, str) else int(d)
            if not 0 <= p < n:
                raise ValueError(f"job {job_id[j]}: predecessor {d!r} not in the night")
            if p == j:
                raise ValueError(f"job {job_id[j]} depends on itself")
            if p in lst:
                raise ValueError(f"job {job_id[j]}: predecessor {d!r} repeated")
            lst.append(p)
        preds.append(lst)
    # a cycle would leave jobs that never become ready: Kahn's algorithm must visit every job
    indegree = [len(p) for p in preds]
    succ = [[] for _ in range(n)]
    for j, ps in enumerate(preds):
        for p in ps:
            succ[p].append(j)
    stack = [j for j in range(n) if indegree[j] == 0]
    seen = 0
    while stack:
        j = stack.pop()
        seen += 1
        for s in succ[j]:
            indegree[s] -= 1
            if indegree[s] == 0:
                stack.append(s)
    if seen != n:
        raise ValueError("depends_on has a cycle")
    return preds


def naive_general_night(arrival, runtime, priority, exclusive, job_id, workers, horizon, *,
                        estimated_runtime=None, depends_on=None, deadline=None, slots=None,
                        locks=None, policy="tutorial", backfill_depth=64, chain_rule="issue",
                        window=None, now=None, status=None, started=None, finished=None):
    """Replay one night (see the module docstring for the exact rules).

    arrival, runtime (> 0), priority (ints, higher first), exclusive (bools), job_id (unique
    strings): as in naive.naive_night. workers: int or [(minute, size), ...] from minute 0.
    horizon: the cutoff H (minutes after batch start, > 0). estimated_runtime: what backfill
    plans with (default: the runtime, i.e. exact estimates). depends_on: per job a list of
    predecessors as indices or job_ids (default none). deadline: per job minutes after batch
    start or None (default H). slots: per job int >= 1 (default 1). locks: per job an iterable
    of lock names (default none). policy: one of POLICIES. backfill_depth: int >= 0.

    Returns a dict: "metrics" (the eight metrics of naive.py), "late_jobs",
    "worker_minutes_above_capacity", per-job lists "start_minute", "finish_minute",
    "ready_minute", "wait_minutes", "dependency_delay_minutes", "workers_used", "late",
    "on_chain"; "chain" (job indices from the last job back), "start_sequence" (job indices in
    the order they started), "reservations" (backfill: (t, head, R, surplus) tuples) and
    "heads" (backfill: (t, head) at every event where a head existed, before anything started).

    Re-forecast (module docstring): ``now`` (minutes after the batch start), per job
    ``status`` ('queued', 'running', 'completed'), ``started``/``finished`` (None: unknown)
    and ``window`` (the planned arrival; default: ``arrival``). A running job's ``runtime`` is
    its whole drawn runtime; a completed job's is ignored.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}")
    if chain_rule not in CHAIN_RULES:
        raise ValueError(f"unknown chain rule {chain_rule!r}")
    n = len(arrival)
    arrival = [float(x) for x in arrival]
    runtime = [float(x) for x in runtime]
    priority = [int(x) for x in priority]
    exclusive = [bool(x) for x in exclusive]
    job_id = [str(x) for x in job_id]
    H = float(horizon)
    steps = capacity_steps(workers)
    change_times = [m for m, _ in steps[1:]]
    est = runtime[:] if estimated_runtime is None else [float(x) for x in estimated_runtime]
    preds = _predecessor_lists(depends_on, job_id)
    due = [H if deadline is None or deadline[j] is None else float(deadline[j])
           for j in range(n)]
    slots = [1] * n if slots is None else [int(s) for s in slots]
    if any(s < 1 for s in slots):
        raise ValueError("slots must be >= 1")
    locks = ([frozenset() for _ in range(n)] if locks is None
             else [frozenset(x or ()) for x in locks])
    if steps[-1][1] < max([1] + slots):
        raise ValueError("the last capacity must be >= 1 and >= the largest slots")
    if len(set(job_id)) != n:
        raise ValueError("job_id must be unique")
    window = arrival[:] if window is None else [float(x) for x in window]
    status = ["queued"] * n if status is None else [str(x) for x in status]
    fixed_start = [None] * n  # started jobs: the fact (or the rule for a completed one)
    fixed_ready = [None] * n
    if now is not None:
        now = float(now)
        for j in range(n):
            if status[j] == "queued":
                if window[j] < now:
                    arrival[j] = window[j]
                continue
            before = max([window[j]] + [finished[p] if status[p] == "completed" else math.inf
                                        for p in preds[j]])
            if started[j] is None:  # completed without its start
                fixed_start[j] = min(float(finished[j]), before)
            else:
                fixed_start[j] = float(started[j])
            fixed_ready[j] = min(fixed_start[j], before)
            arrival[j] = min(window[j], fixed_ready[j])
            if status[j] == "completed":
                runtime[j] = float(finished[j]) - fixed_start[j]
    to_force = sorted((j for j in range(n) if fixed_start[j] is not None),
                      key=lambda j: (fixed_start[j], j))

    start = [math.nan] * n
    finish = [math.nan] * n
    ready = [math.nan] * n
    used_by = [0] * n
    retired = [False] * n
    unreleased = list(range(n))
    waiting: list[int] = []
    running: list[tuple[float, int, int]] = []  # (finish, job, workers used)
    start_sequence: list[int] = []
    reservations: list[tuple[float, int, float, int]] = []
    heads: list[tuple[float, int]] = []

    def order_p(j):
        return (-priority[j], ready[j], job_id[j])

    def order_f(j):
        return (ready[j], job_id[j])

    def known_ready(j):
        """The ready time once every predecessor is retired, else None."""
        if fixed_ready[j] is not None:
            return fixed_ready[j]
        if all(retired[p] for p in preds[j]):
            return max([arrival[j]] + [finish[p] for p in preds[j]])
        return None

    def busy():
        return sum(u for _, _, u in running)

    def held_locks():
        held = set()
        for _, k, _ in running:
            held |= locks[k]
        return held

    def exclusive_running():
        return any(exclusive[k] for _, k, _ in running)

    def lock_free(j):
        return not (locks[j] & held_locks())

    def fits(j, cap):
        if exclusive_running():
            return False
        if exclusive[j]:
            return not running and cap >= max(1, slots[j])
        return cap - busy() >= slots[j] and lock_free(j)

    def start_job(j, t, cap):
        waiting.remove(j)
        start[j] = t
        finish[j] = t + runtime[j]
        used_by[j] = cap if exclusive[j] else slots[j]
        running.append((finish[j], j, used_by[j]))
        start_sequence.append(j)

    def dispatch_tutorial(t, cap):
        while waiting:
            waiting.sort(key=order_p)
            if busy() >= cap:
                break
            if exclusive_running():
                break
            exclusive_waiting = [j for j in waiting if exclusive[j]]  # keeps the sort order
            if exclusive_waiting:
                if running:
                    break
                job = exclusive_waiting[0]
                if cap < max(1, slots[job]):
                    break
            else:
                unlocked = [j for j in waiting if lock_free(j)]
                if not unlocked:
                    break
                job = unlocked[0]
                if cap - busy() < slots[job]:
                    break
            start_job(job, t, cap)

    def dispatch_strict(t, cap, key):
        while waiting:
            waiting.sort(key=key)
            head = waiting[0]
            if not fits(head, cap):
                break
            start_job(head, t, cap)

    def reservation(head, t):
        plan = [(max(start[k] + est[k], t), u) for _, k, u in running]
        times = sorted({t} | {pf for pf, _ in plan if pf > t} | {m for m in change_times if m > t})
        for T in times:
            cap_T = capacity_at(steps, T)
            still = sum(u for pf, u in plan if pf > T)
            if exclusive[head]:
                if still == 0 and cap_T >= max(1, slots[head]):
                    return T, 0
            elif cap_T - still >= slots[head]:
                return T, cap_T - still - slots[head]
        raise AssertionError("no reservation: the last capacity is too small")

    def dispatch_backfill(t, cap):
        first = True
        while waiting:
            waiting.sort(key=order_p)
            unlocked = [j for j in waiting if lock_free(j)]
            if not unlocked:
                break
            head = unlocked[0]
            if first:
                heads.append((t, head))
                first = False
            if exclusive_running():
                break
            if fits(head, cap):
                start_job(head, t, cap)
                continue
            R, surplus = reservation(head, t)
            reservations.append((t, head, R, surplus))
            pos = waiting.index(head)
            for c in waiting[pos + 1: pos + 1 + backfill_depth]:  # a copy: safe to start jobs
                if not fits(c, cap):
                    continue
                if max(t + est[c], t) <= R:
                    start_job(c, t, cap)
                elif (not exclusive[c] and slots[c] <= surplus
                      and not (locks[c] & locks[head])):
                    start_job(c, t, cap)
                    surplus -= slots[c]
            break

    queue_area_terms = []
    max_queue = 0
    t_prev = 0.0
    next_change = 0
    now_pending = now is not None
    while unreleased or waiting or running:
        candidates = [r for r in map(known_ready, unreleased) if r is not None]
        if running:
            candidates.append(min(f for f, _, _ in running))
        if next_change < len(change_times):
            candidates.append(change_times[next_change])
        if now_pending:
            candidates.append(now)
        if to_force:
            candidates.append(fixed_start[to_force[0]])
        if not candidates:
            raise AssertionError("the night cannot drain")
        t = min(candidates)
        # queue length was constant on (t_prev, t]: count it up to the cutoff only
        queue_area_terms.append(len(waiting) * (min(t, H) - min(t_prev, H)))
        t_prev = t
        # 1. retire every running job with finish <= t
        for f, k, _ in running:
            if f <= t:
                retired[k] = True
        running = [x for x in running if x[0] > t]
        # 2. the pool size at t
        while next_change < len(change_times) and change_times[next_change] <= t:
            next_change += 1
        cap = capacity_at(steps, t)
        # 3. release every job whose ready time is <= t, in (ready, job_id) order
        newly = []
        for j in unreleased:
            r = known_ready(j)
            if r is not None and r <= t:
                ready[j] = r
                newly.append(j)
        newly.sort(key=lambda j: (ready[j], job_id[j]))
        for j in newly:
            unreleased.remove(j)
            waiting.append(j)
        # started jobs start at their facts (they were released at their ready time <= start)
        while to_force and fixed_start[to_force[0]] <= t:
            start_job(to_force.pop(0), t, cap)
        if now_pending and t >= now:
            now_pending = False
        # 4. dispatch (never before now)
        if now is not None and t < now:
            pass
        elif policy == "tutorial":
            dispatch_tutorial(t, cap)
        elif policy == "priority":
            dispatch_strict(t, cap, order_p)
        elif policy == "fifo":
            dispatch_strict(t, cap, order_f)
        else:
            dispatch_backfill(t, cap)
        max_queue = max(max_queue, len(waiting))
    if waiting and t_prev < H:  # as in naive.py; unreachable since the night drains
        queue_area_terms.append(len(waiting) * (H - t_prev))

    # ------------------------------------------------------------------ per-night quantities
    cap_area_terms = []
    for i, (m, size) in enumerate(steps):
        m_next = steps[i + 1][0] if i + 1 < len(steps) else math.inf
        cap_area_terms.append(size * (min(m_next, H) - min(m, H)))
    capacity_area = math.fsum(cap_area_terms)

    # worker-minutes above the pool: on each elementary interval of [0, H] between consecutive
    # starts, finishes and capacity changes, busy and capacity are constant
    cuts = sorted({0.0, H} | {min(x, H) for x in start + finish if not math.isnan(x)}
                  | {m for m in change_times if m < H})
    above_terms = []
    for a, b in zip(cuts, cuts[1:]):
        busy_ab = sum(used_by[j] for j in range(n) if start[j] <= a and finish[j] >= b)
        above_terms.append(max(busy_ab - capacity_at(steps, a), 0) * (b - a))
    above = math.fsum(above_terms)

    if n == 0:
        metrics = dict.fromkeys(METRICS, 0.0)
        metrics["max_queue_length"] = 0
        metrics["overflow_jobs"] = 0
    else:
        waits = [start[j] - ready[j] for j in range(n)]
        overflow = sum(1 for j in range(n) if finish[j] > H)
        job_terms = [(min(finish[j], H) - min(start[j], H)) * used_by[j] for j in range(n)]
        # all busy worker-minutes before H minus those above the pool, correctly rounded
        within = math.fsum(job_terms + [-x for x in above_terms])
        metrics = {
            "average_wait_minutes": math.fsum(waits) / n,
            "p95_wait_minutes": sorted(waits)[max(0, math.ceil(0.95 * n) - 1)],
            "average_queue_length": math.fsum(queue_area_terms) / H,
            "max_queue_length": max_queue,
            "worker_utilization": within / capacity_area if capacity_area > 0 else 0.0,
            "overflow_jobs": overflow,
            "overflow_risk": overflow / n,
            "queue_drained_minute": max(finish),
        }

    late = [finish[j] > due[j] for j in range(n)]
    chain = critical_chain(start, finish, ready, preds, job_id, chain_rule)
    on_chain = [False] * n
    for j in chain:
        on_chain[j] = True
    return {
        "metrics": metrics,
        "late_jobs": sum(late),
        "worker_minutes_above_capacity": above,
        "start_minute": start,
        "finish_minute": finish,
        "ready_minute": ready,
        "wait_minutes": [start[j] - ready[j] for j in range(n)],
        "dependency_delay_minutes": [ready[j] - arrival[j] for j in range(n)],
        "workers_used": used_by,
        "late": late,
        "on_chain": on_chain,
        "chain": chain,
        "start_sequence": start_sequence,
        "reservations": reservations,
        "heads": heads,
    }


def critical_chain(start, finish, ready, preds, job_id, chain_rule="issue"):
    """The critical chain as job indices, from the last job to finish backwards (module
    docstring, "Critical chain")."""
    n = len(start)
    if n == 0:
        return []

    def smallest_id(jobs):
        return min(jobs, key=lambda k: job_id[k])

    last_finish = max(finish)
    j = smallest_id([k for k in range(n) if finish[k] == last_finish])
    chain = [j]
    while True:
        setters = [p for p in preds[j] if finish[p] == ready[j]]
        freers = [k for k in range(n) if finish[k] == start[j]]
        waited = start[j] > ready[j]
        if chain_rule == "issue":
            if setters:
                j = smallest_id(setters)
            elif waited and freers:
                j = smallest_id(freers)
            else:
                break
        else:  # "binding"
            if waited:
                if not freers:
                    break
                j = smallest_id(freers)
            elif setters:
                j = smallest_id(setters)
            else:
                break
        chain.append(j)
    return chain
