# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker API for modules: the one place that imports the Docker SDK.

Every failure of the SDK (no socket, no permission, an error status) comes out as DockerUnavailable,
a message for the person running the playbook that names the docker_host, never a traceback.
Modules check DOCKER_IMPORT_ERROR first and fail with missing_required_lib("docker").
"""

from __future__ import annotations

import traceback

try:
    import docker
    from docker.errors import DockerException, NotFound

    DOCKER_IMPORT_ERROR = None
except ImportError:
    docker = None
    DOCKER_IMPORT_ERROR = traceback.format_exc()

    class DockerException(Exception):
        """Stands in for the SDK's base error so that the except clauses below stay valid."""

    class NotFound(DockerException):
        pass


DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
# The Docker SDK's own default: long enough for a busy daemon, short enough that a hung one fails the task.
DEFAULT_API_TIMEOUT = 60


class DockerUnavailable(Exception):
    """The Docker API at docker_host could not be used for `action`. Not a ConsulError: Docker is not Consul.

    `kind` and `status` as on ConsulError, so that a module's result tells the two apart by `error`.
    """

    kind = "docker_unavailable"
    status = None

    def __init__(self, docker_host: str, detail: str, action: str = ""):
        doing = f" to {action}" if action else ""
        message = f"the Docker API at {docker_host} could not be used{doing} ({detail})"
        super().__init__(message)
        self.message = message
        self.docker_host = docker_host


def default_docker_host(docker_host: str | None, environ: dict) -> str:
    """The option, then E(DOCKER_HOST) as the docker CLI reads it, then the local socket."""
    return docker_host or environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST


class DockerAPI:
    """The few Docker API calls the modules make, with the SDK's errors translated."""

    def __init__(self, client, docker_host: str):
        self._client = client
        self.docker_host = docker_host

    def _unavailable(self, error: Exception, action: str) -> DockerUnavailable:
        return DockerUnavailable(self.docker_host, str(error) or type(error).__name__, action)

    def containers(self) -> list:
        """Summaries of the running containers (`docker ps`)."""
        try:
            return self._client.containers()
        # requests' exceptions (a daemon that went away mid-run) are OSErrors, not DockerExceptions
        except (DockerException, OSError) as error:
            raise self._unavailable(error, "list containers") from None

    def inspect_container(self, container: str) -> dict | None:
        """`docker inspect` of one container, None when there is no such container."""
        try:
            return self._client.inspect_container(container)
        except NotFound:
            return None
        except (DockerException, OSError) as error:
            raise self._unavailable(error, f"inspect container {container}") from None

    def logs(self, container: str, since: int | None = None) -> str:
        """stdout and stderr in the order written, each line prefixed with Docker's RFC 3339 timestamp.

        since (whole seconds since the epoch) only trims what Docker sends; callers that need an
        exact boundary filter on the timestamps. A container removed meanwhile has no logs.
        """
        try:
            output = self._client.logs(container, stdout=True, stderr=True, timestamps=True, since=since)
        except NotFound:
            return ""
        except (DockerException, OSError) as error:
            raise self._unavailable(error, f"read the logs of container {container}") from None
        return output.decode("utf-8", errors="replace") if isinstance(output, bytes) else output

    def stop(self, container: str, timeout: int = 10) -> bool:
        """`docker stop`, which also cancels a pending restart; False when the container is gone."""
        try:
            self._client.stop(container, timeout=timeout)
        except NotFound:
            return False
        except (DockerException, OSError) as error:
            raise self._unavailable(error, f"stop container {container}") from None
        return True


def connect(docker_host: str, timeout: float = DEFAULT_API_TIMEOUT) -> DockerAPI:
    """A DockerAPI for docker_host. The SDK asks the daemon for its API version here, so a missing
    socket or a permission problem shows up now, as DockerUnavailable."""
    if docker is None:
        raise DockerUnavailable(docker_host, "the docker Python package is not installed")
    try:
        client = docker.APIClient(base_url=docker_host, timeout=timeout)
    except (DockerException, OSError) as error:
        raise DockerUnavailable(docker_host, str(error) or type(error).__name__) from None
    return DockerAPI(client, docker_host)
