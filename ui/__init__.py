"""`vitocr ui`: a Streamlit app to read pages, check and correct the text, and keep the corrections.

app.py is the Streamlit script; the other modules are plain helpers (no Streamlit) it calls, so they can be tested
and reused on their own.
"""
