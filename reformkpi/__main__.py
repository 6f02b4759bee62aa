from reformkpi.cli import main

raise SystemExit(main())
