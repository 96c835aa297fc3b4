"""`labctl class`: a classroom of learners' lab environments from one command, one stack per learner.

- roster.py    who the learners are (`--learners N` or `--roster FILE`)
- capacity.py  how many learners each region can host, from preflight's per-region verdicts
- plan.py      learners packed into regions, or the shortfall per region
- state.py     the class's own record (.labctl/classes/<class>/class.json)
- fleet.py     each learner's `labctl up` / `labctl down`, as processes of their own, a few at a time
- notebooks.py the lab notebooks published to each learner's workspace folder, and run to prove them
- presence.py  whether each learner's environment is still there, and the class command that brings it back
- commands.py  the `class` command group
"""
