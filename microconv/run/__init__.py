"""Running an analysis: the options and the plan made once, the funnels replayed and every report
computed (in this process: ``local``), in the order of the data flow in ``microconv.api``."""
