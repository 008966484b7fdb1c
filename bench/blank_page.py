"""Baseline page for rerun costs: what an AppTest run of an almost empty script costs."""

import streamlit as st

st.title("Blank")
st.write("Nothing else happens here.")
