"""The portal adapter: VSS electronic dossiers from the National Public Service Portal (DVCQG)."""
