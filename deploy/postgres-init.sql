-- Rasa's conversations live in their own database (RASA_TRACKER_URL), on the same server.
CREATE DATABASE rasa OWNER coprod;
