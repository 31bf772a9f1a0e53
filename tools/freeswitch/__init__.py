"""FreeSWITCH configuration and log samples."""
