# The GitHub Action (action.yml): `miglint action` in a small Python image.
FROM python:3.12.8-slim-bookworm

# git: the action diffs the pull request's base and head commits.
# Not version-pinned: Debian drops superseded package versions from its mirrors, and this
# image is built on every workflow run, so a pin would break the action at the next update.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

# The package from this repository: the action runs the code of the tag it is used at.
# With the `github` extra: the action posts check runs through PyGithub.
COPY pyproject.toml README.md LICENSE /tmp/miglint/
COPY miglint /tmp/miglint/miglint
RUN pip install --no-cache-dir "/tmp/miglint[github]" && rm -rf /tmp/miglint

# Where GitHub mounts the checked-out repository (it also passes --workdir itself).
WORKDIR /github/workspace

# No USER: GitHub runs Docker actions as root and mounts the workspace and the files behind
# GITHUB_OUTPUT / GITHUB_STEP_SUMMARY owned by the runner's user; GitHub's docs say not to
# set USER, because a non-root user could not write them. Nothing from the linted tree is
# executed (miglint only reads it), and the action trusts the workspace for git by itself.
ENTRYPOINT ["miglint", "action"]
