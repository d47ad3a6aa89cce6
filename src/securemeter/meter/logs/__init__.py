"""Traceability: the event logs with their 32-bit counters (docs/LOGS.md).

``writer`` keeps one log in the store (event numbers, wrap record, flood aggregation, crash
recovery, read-only views); ``objects`` serves the logs as COSEM objects. The event codes and
the ``Logbook`` every component records through are in :mod:`securemeter.meter.logbook`.
"""
