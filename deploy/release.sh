# Shared by deploy/deploy-crawler.sh and deploy/deploy-rest-api.sh (sourced, not run).

ensure_user() {  # name home: a system user without a login shell
    id -u "$1" >/dev/null 2>&1 || useradd --system --home-dir "$2" --no-create-home --shell /usr/sbin/nologin "$1"
}

install_release() {  # repo revision prefix: unpack the commit into prefix/releases/<commit>; print the path
    local commit release
    commit="$(git -C "$1" rev-parse --verify "$2^{commit}")"
    release="$3/releases/$commit"
    if [ ! -f "$release/.complete" ]; then
        rm -rf "$release"
        mkdir -p "$release"
        git -C "$1" archive "$commit" | tar -x -C "$release"
        touch "$release/.complete"
    fi
    chmod 755 "$3" "$3/releases"
    echo "$release"
}

ensure_venv() {  # venv release: its own virtualenv with the release's requirements
    if [ ! -x "$1/bin/python" ]; then
        "${PYTHON:-python3}" -m venv "$1"
    fi
    if [ "${PIP_INSTALL:-1}" = 1 ]; then
        "$1/bin/python" -m pip install -q -r "$2/requirements.txt"
    fi
}
