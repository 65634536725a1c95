"""Readers of RR recording files, one module per family (private; use ``sensors.read_recording``).

- :mod:`text`: plain one value per line, PhysioNet ``*_rr_secs.txt``, gHRV beat times, Elite HRV;
- :mod:`hrm`: Polar HRM files in R-R mode;
- :mod:`apps`: Polar Sensor Logger and HRV Logger CSV exports (timestamped);
- :mod:`hrvpace`: hrvpace's own recording format and its writer;
- :mod:`gaps`: the rule that finds missing beats from timestamps.
"""
