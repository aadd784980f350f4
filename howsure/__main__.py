from howsure.cli import main

raise SystemExit(main())
