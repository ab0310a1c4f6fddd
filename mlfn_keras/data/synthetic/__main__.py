"""``python -m mlfn_keras.data.synthetic`` = ``mlfn-synthetic``."""

from mlfn_keras.data.synthetic.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
