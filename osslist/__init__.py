"""osslist: list every object of an Alibaba Cloud OSS bucket from a pod, with the pod's RAM role."""

__version__ = "0.1.0"
