"""The local stack: real dynalite and moto servers on loopback ports."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest

from helpers import process_alive
from launcher.dev.localstack import REPO_ROOT, LocalStack, LocalStackError

pytestmark = pytest.mark.integration

