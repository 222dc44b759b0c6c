"""The national population database (C06): its SOAP client (zeep), protocol and simulator."""
