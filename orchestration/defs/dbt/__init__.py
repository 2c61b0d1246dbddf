"""dbt area: the dbt project that builds staging, intermediate and marts in the warehouse."""
