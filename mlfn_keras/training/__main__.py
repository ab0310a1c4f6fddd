from mlfn_keras.training.cli import main

raise SystemExit(main())
