# Installed as sitecustomize.py in the Queens client's venv: Python 3.10 and 3.11 removed
# names that OpenStack's Queens libraries still use (openstacksdk 0.11 and os-net-config reach
# collections.Mapping and its siblings; cliff 2.11 calls inspect.getargspec). They are put back,
# pointing at their current homes; nothing else changes.
import collections
import collections.abc
import inspect

for _name in ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Iterable",
              "Callable", "Set", "MutableSet", "Hashable"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

if not hasattr(inspect, "getargspec"):
    _Spec = collections.namedtuple("ArgSpec", "args varargs keywords defaults")

    def getargspec(func):
        full = inspect.getfullargspec(func)
        return _Spec(full.args, full.varargs, full.varkw, full.defaults)

    inspect.getargspec = getargspec
