"""Identity: who a person is, as the national population database (C06) confirms it
(``population``), and the citizen a VNeID ID token names (``vneid``)."""
